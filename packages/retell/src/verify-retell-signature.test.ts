import { createFixtureLoader } from '@calltrack/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signRetellWebhook } from './sign-retell-webhook';
import { verifyRetellSignature } from './verify-retell-signature';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

// Test vector from retell-typescript-sdk tests/webhook-auth.test.ts (reference §2.4).
const apiKey = 'test-api-key';
const body = '{"event":"call_ended"}';
const timestamp = 1700000000000;
const digest = '07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e';
const signature = `v=${timestamp},d=${digest}`;

describe('verifyRetellSignature', () => {
  it('accepts the reference test vector', () => {
    expect(verifyRetellSignature({ apiKey, body, signature, now: timestamp })).toBe(true);
  });

  it('accepts the body as bytes as well as text', () => {
    const bytes = new TextEncoder().encode(body);
    expect(verifyRetellSignature({ apiKey, body: bytes, signature, now: timestamp })).toBe(true);
    expect(verifyRetellSignature({ apiKey, body: bytes.buffer, signature, now: timestamp })).toBe(
      true,
    );
  });

  it('accepts a Date as now', () => {
    expect(verifyRetellSignature({ apiKey, body, signature, now: new Date(timestamp) })).toBe(true);
  });

  it('accepts up to 5 minutes of clock difference in both directions, and no more', () => {
    const at = (now: number) => verifyRetellSignature({ apiKey, body, signature, now });
    expect(at(timestamp + 300_000)).toBe(true);
    expect(at(timestamp + 300_001)).toBe(false);
    expect(at(timestamp - 300_000)).toBe(true);
    expect(at(timestamp - 300_001)).toBe(false);
  });

  it('honours a custom tolerance', () => {
    const check = (toleranceMs: number) =>
      verifyRetellSignature({ apiKey, body, signature, now: timestamp + 1000, toleranceMs });
    expect(check(1000)).toBe(true);
    expect(check(999)).toBe(false);
  });

  it('uses the current time by default', () => {
    // The vector is from 2023: far outside the window today.
    expect(verifyRetellSignature({ apiKey, body, signature })).toBe(false);
    const fresh = signRetellWebhook({ apiKey, body });
    expect(verifyRetellSignature({ apiKey, body, signature: fresh })).toBe(true);
  });

  it('accepts an upper-case digest', () => {
    const upper = `v=${timestamp},d=${digest.toUpperCase()}`;
    expect(verifyRetellSignature({ apiKey, body, signature: upper, now: timestamp })).toBe(true);
  });

  it('rejects a wrong key, a changed body and a changed timestamp', () => {
    expect(verifyRetellSignature({ apiKey: 'other-key', body, signature, now: timestamp })).toBe(
      false,
    );
    expect(
      verifyRetellSignature({
        apiKey,
        body: '{"event":"call_started"}',
        signature,
        now: timestamp,
      }),
    ).toBe(false);
    const shifted = `v=${timestamp + 1},d=${digest}`;
    expect(verifyRetellSignature({ apiKey, body, signature: shifted, now: timestamp })).toBe(false);
  });

  it('rejects a re-serialized body (the raw bytes are what Retell signed)', () => {
    const { text } = loadFixture('retell-call-analyzed.json');
    const signed = signRetellWebhook({ apiKey, body: text, timestamp });
    expect(verifyRetellSignature({ apiKey, body: text, signature: signed, now: timestamp })).toBe(
      true,
    );
    const reserialized = JSON.stringify(JSON.parse(text));
    expect(
      verifyRetellSignature({ apiKey, body: reserialized, signature: signed, now: timestamp }),
    ).toBe(false);
    // Escaping non-ASCII characters, as some serializers do, also breaks the signature.
    const escaped = text.replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect(JSON.parse(escaped)).toEqual(JSON.parse(text));
    expect(
      verifyRetellSignature({ apiKey, body: escaped, signature: signed, now: timestamp }),
    ).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['timestamp only', `v=${timestamp}`],
    ['digest only', `d=${digest}`],
    ['reversed', `d=${digest},v=${timestamp}`],
    ['prefixed', `x${signature}`],
    ['prefixed with a space', ` ${signature}`],
    ['suffixed', `${signature}x`],
    ['suffixed with a second pair', `${signature},v=${timestamp},d=${digest}`],
    ['non-hex digest', `v=${timestamp},d=${'z'.repeat(64)}`],
    ['62-character digest', `v=${timestamp},d=${digest.slice(0, 62)}`],
    ['66-character digest', `v=${timestamp},d=${digest}00`],
    ['huge timestamp', 'v=999999999999999999999999'],
    ['huge timestamp with digest', `v=999999999999999999999999,d=${digest}`],
    ['negative timestamp', `v=-${timestamp},d=${digest}`],
    ['decimal timestamp', `v=${timestamp}.5,d=${digest}`],
    ['spaces', `v=${timestamp}, d=${digest}`],
    ['sha256= prefix', `sha256=${digest}`],
  ])('rejects a malformed header: %s', (_name, header) => {
    expect(verifyRetellSignature({ apiKey, body, signature: header, now: timestamp })).toBe(false);
  });

  it('rejects missing or malformed inputs without throwing', () => {
    const cases: unknown[] = [
      { apiKey, body, signature: undefined, now: timestamp },
      { apiKey, body, signature: null, now: timestamp },
      { apiKey: '', body, signature, now: timestamp },
      { apiKey: undefined, body, signature, now: timestamp },
      { apiKey, body: undefined, signature, now: timestamp },
      { apiKey, body: { event: 'call_ended' }, signature, now: timestamp },
      { apiKey, body, signature: 42, now: timestamp },
      { apiKey, body, signature, now: Number.NaN },
      { apiKey, body, signature, now: 'yesterday' },
      { apiKey, body, signature, now: timestamp, toleranceMs: -1 },
      { apiKey, body, signature, now: timestamp, toleranceMs: Number.NaN },
      undefined,
      null,
    ];
    for (const options of cases) {
      expect(verifyRetellSignature(options as never)).toBe(false);
    }
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), (a, b, s, n) => {
        const result = verifyRetellSignature({ apiKey: a, body: b, signature: s, now: n } as never);
        expect(typeof result).toBe('boolean');
      }),
    );
  });

  describe('properties', () => {
    const bodies = fc.oneof(fc.string({ unit: 'grapheme' }), fc.uint8Array({ maxLength: 512 }));
    const keys = fc.string({ minLength: 1, maxLength: 64 });
    const timestamps = fc.integer({ min: 0, max: 4_102_444_800_000 });

    it('a signature made for any body and timestamp verifies within the window', () => {
      fc.assert(
        fc.property(
          keys,
          bodies,
          timestamps,
          fc.integer({ min: -300_000, max: 300_000 }),
          (key, anyBody, at, skew) => {
            const header = signRetellWebhook({ apiKey: key, body: anyBody, timestamp: at });
            expect(
              verifyRetellSignature({
                apiKey: key,
                body: anyBody,
                signature: header,
                now: at + skew,
              }),
            ).toBe(true);
          },
        ),
      );
    });

    it('any changed byte of the body fails', () => {
      fc.assert(
        fc.property(
          keys,
          fc.uint8Array({ minLength: 1, maxLength: 512 }),
          timestamps,
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (key, bytes, at, position, delta) => {
            const header = signRetellWebhook({ apiKey: key, body: bytes, timestamp: at });
            const changed = bytes.slice();
            const index = position % changed.length;
            changed[index] = (changed[index]! + delta) % 256;
            expect(
              verifyRetellSignature({ apiKey: key, body: changed, signature: header, now: at }),
            ).toBe(false);
          },
        ),
      );
    });

    it('any changed character of the signature fails', () => {
      fc.assert(
        fc.property(keys, bodies, timestamps, fc.nat(), (key, anyBody, at, position) => {
          const header = signRetellWebhook({ apiKey: key, body: anyBody, timestamp: at });
          const digestStart = header.indexOf(',d=') + 3;
          const index = digestStart + (position % 64);
          const original = header[index]!;
          const replacement = original === '0' ? '1' : '0';
          const changed = header.slice(0, index) + replacement + header.slice(index + 1);
          expect(
            verifyRetellSignature({ apiKey: key, body: anyBody, signature: changed, now: at }),
          ).toBe(false);
        }),
      );
    });

    it('fails outside the 5-minute window, either way', () => {
      fc.assert(
        fc.property(
          keys,
          bodies,
          fc.integer({ min: 400_000_000, max: 4_102_444_800_000 }),
          fc.integer({ min: 300_001, max: 365 * 24 * 3_600_000 }),
          fc.boolean(),
          (key, anyBody, at, distance, later) => {
            const header = signRetellWebhook({ apiKey: key, body: anyBody, timestamp: at });
            const now = later ? at + distance : at - distance;
            expect(
              verifyRetellSignature({ apiKey: key, body: anyBody, signature: header, now }),
            ).toBe(false);
          },
        ),
      );
    });
  });
});
