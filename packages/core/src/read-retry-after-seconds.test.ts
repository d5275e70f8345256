import { describe, expect, it } from 'vitest';
import { readRetryAfterSeconds, toRetryAfterSeconds } from './read-retry-after-seconds';

const now = Date.parse('2026-11-21T10:00:00.000Z');
const answer = (retryAfter: string | undefined, status = 429) =>
  new Response(null, {
    status,
    headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
  });

describe('readRetryAfterSeconds', () => {
  it('reads delay-seconds, rounded up', () => {
    expect(readRetryAfterSeconds(answer('7'), now)).toBe(7);
    expect(readRetryAfterSeconds(answer(' 0 '), now)).toBe(0);
    expect(readRetryAfterSeconds(answer('1.2', 503), now)).toBe(2);
  });

  it('reads an HTTP date as the seconds from now, never negative', () => {
    expect(readRetryAfterSeconds(answer('Sat, 21 Nov 2026 10:00:30 GMT'), now)).toBe(30);
    expect(readRetryAfterSeconds(answer('Sat, 21 Nov 2026 10:00:00 GMT'), now + 500)).toBe(0);
    expect(readRetryAfterSeconds(answer('Sat, 21 Nov 2026 09:00:00 GMT'), now)).toBe(0);
    // Rounded up to whole seconds: never earlier than the date.
    expect(readRetryAfterSeconds(answer('Sat, 21 Nov 2026 10:00:30 GMT'), now + 400)).toBe(30);
  });

  it('caps a wait at a day, however long it is asked for: a whole number, never Infinity', () => {
    expect(readRetryAfterSeconds(answer('86400'), now)).toBe(86_400);
    expect(readRetryAfterSeconds(answer('86400.5'), now)).toBe(86_400);
    expect(readRetryAfterSeconds(answer('86401', 503), now)).toBe(86_400);
    // Too many digits for a double: Number() reads Infinity.
    expect(readRetryAfterSeconds(answer('9'.repeat(400)), now)).toBe(86_400);
    expect(readRetryAfterSeconds(answer('Sun, 21 Nov 2027 10:00:00 GMT'), now)).toBe(86_400);
  });

  it('gives undefined for nothing, something unreadable, or another status', () => {
    for (const value of [undefined, '', '  ', '-5', 'soon', '1e3', 'Sat, 99 Nov 2026']) {
      expect(readRetryAfterSeconds(answer(value), now)).toBeUndefined();
    }
    for (const status of [200, 500, 502, 400]) {
      expect(readRetryAfterSeconds(answer('7', status), now)).toBeUndefined();
    }
  });
});

describe('toRetryAfterSeconds', () => {
  it('keeps a wait by the same rule: rounded up, from 0 to a day; NaN and non-numbers are none', () => {
    expect(toRetryAfterSeconds(7)).toBe(7);
    expect(toRetryAfterSeconds(1.2)).toBe(2);
    expect(toRetryAfterSeconds(0)).toBe(0);
    expect(toRetryAfterSeconds(-5)).toBe(0);
    expect(toRetryAfterSeconds(-0.5)).toBe(0);
    expect(Object.is(toRetryAfterSeconds(-0.5), -0)).toBe(false);
    expect(toRetryAfterSeconds(-Infinity)).toBe(0);
    expect(toRetryAfterSeconds(86_401)).toBe(86_400);
    expect(toRetryAfterSeconds(1e21)).toBe(86_400);
    expect(toRetryAfterSeconds(Infinity)).toBe(86_400);
    for (const value of [Number.NaN, undefined, null, '7', {}]) {
      expect(toRetryAfterSeconds(value)).toBeUndefined();
    }
  });
});
