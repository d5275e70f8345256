import { CallTrackError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { signRetellWebhook } from './sign-retell-webhook';

describe('signRetellWebhook', () => {
  it('reproduces the reference test vector', () => {
    expect(
      signRetellWebhook({
        apiKey: 'test-api-key',
        body: '{"event":"call_ended"}',
        timestamp: 1700000000000,
      }),
    ).toBe('v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e');
  });

  it('signs text and its UTF-8 bytes alike', () => {
    const text = '{"transcript":"José ☕"}';
    const options = { apiKey: 'key', timestamp: 1 };
    expect(signRetellWebhook({ ...options, body: text })).toBe(
      signRetellWebhook({ ...options, body: new TextEncoder().encode(text) }),
    );
  });

  it('uses the current time by default', () => {
    const before = Date.now();
    const header = signRetellWebhook({ apiKey: 'key', body: '{}' });
    const stamp = Number(/^v=(\d+),/.exec(header)?.[1]);
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  });

  it('refuses an empty key or an invalid timestamp', () => {
    for (const options of [
      { apiKey: '', body: '{}' },
      { apiKey: 'key', body: '{}', timestamp: -1 },
      { apiKey: 'key', body: '{}', timestamp: 1.5 },
      { apiKey: 'key', body: '{}', timestamp: Number.NaN },
      { apiKey: 'key', body: { event: 'call_ended' } as never },
    ]) {
      expect(() => signRetellWebhook(options)).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
      try {
        signRetellWebhook(options);
      } catch (error) {
        expect(CallTrackError.isInstance(error)).toBe(true);
      }
    }
  });
});
