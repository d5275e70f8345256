import { InvalidSignatureError, MissingSignatureError } from '@calltrack/core';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook } from './sign-webhook';
import { verifyWebhook } from './verify-webhook';
import { generateWebhookSecret } from './webhook-secret';

// Test vectors from the Standard Webhooks reference libraries (see the package README).
const tv1 = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const tv2 = {
  secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
  id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
  timestamp: 1649367553,
  body: '{"email":"test@example.com","username":"test_user"}',
  signature: 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=',
};
const invalid = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';

function headers(vector: typeof tv1, signature = vector.signature): Record<string, string> {
  return {
    'webhook-id': vector.id,
    'webhook-timestamp': String(vector.timestamp),
    'webhook-signature': signature,
  };
}

/** Runs our verifier and the official library on the same input; both must agree. */
function bothVerify(
  vector: typeof tv1,
  options: { secret?: string; headers?: Record<string, string>; now?: number } = {},
): { ours: boolean; official: boolean } {
  const secret = options.secret ?? vector.secret;
  const input = options.headers ?? headers(vector);
  const now = options.now ?? vector.timestamp * 1000;
  let ours = true;
  try {
    verifyWebhook({ secret, headers: input, body: vector.body, now });
  } catch {
    ours = false;
  }
  let official = true;
  const realNow = Date.now;
  Date.now = () => now;
  try {
    new Webhook(secret).verify(vector.body, input);
  } catch {
    official = false;
  } finally {
    Date.now = realNow;
  }
  return { ours, official };
}

describe('signWebhook', () => {
  it('produces the reference signatures (TV1, TV2)', () => {
    for (const vector of [tv1, tv2]) {
      expect(signWebhook({ ...vector, secrets: [vector.secret] })).toBe(vector.signature);
      expect(
        new Webhook(vector.secret).sign(vector.id, new Date(vector.timestamp * 1000), vector.body),
      ).toBe(vector.signature);
    }
  });

  it('signs with every secret during a rotation, space-separated', () => {
    const fresh = generateWebhookSecret();
    const header = signWebhook({ ...tv1, secrets: [fresh, tv1.secret] });
    expect(header.split(' ')).toHaveLength(2);
    expect(header.split(' ')[1]).toBe(tv1.signature);
    // A receiver holding either secret verifies.
    for (const secret of [fresh, tv1.secret]) {
      expect(bothVerify(tv1, { secret, headers: headers(tv1, header) })).toEqual({
        ours: true,
        official: true,
      });
    }
  });

  it('generates whsec_ secrets of 24 random bytes that the official library accepts', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(generateWebhookSecret()).not.toBe(secret);
    const header = signWebhook({
      id: 'msg_1',
      timestamp: 1700000000,
      body: '{}',
      secrets: [secret],
    });
    expect(() =>
      new Webhook(secret).verify('{}', {
        'webhook-id': 'msg_1',
        'webhook-timestamp': '1700000000',
        'webhook-signature': header,
      }),
    ).toThrow(/too old/i); // the signature itself is fine: only the timestamp is old
  });

  it('refuses ids with a full stop and fractional timestamps', () => {
    expect(() => signWebhook({ ...tv1, id: 'a.b', secrets: [tv1.secret] })).toThrow(/"\."/);
    expect(() => signWebhook({ ...tv1, timestamp: 1.5, secrets: [tv1.secret] })).toThrow();
  });
});

describe('verifyWebhook agrees with the standardwebhooks library', () => {
  it('accepts the reference vectors and returns the parsed body', () => {
    expect(bothVerify(tv1)).toEqual({ ours: true, official: true });
    expect(bothVerify(tv2)).toEqual({ ours: true, official: true });
    expect(
      verifyWebhook({
        secret: tv1.secret,
        headers: headers(tv1),
        body: tv1.body,
        now: tv1.timestamp * 1000,
      }),
    ).toEqual({ test: 2432232314 });
  });

  it('rejects the invalid, near-miss, empty and truncated signatures', () => {
    for (const signature of [
      invalid,
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=',
      'v1,',
      tv1.signature.slice(0, 8),
    ]) {
      expect(bothVerify(tv1, { headers: headers(tv1, signature) })).toEqual({
        ours: false,
        official: false,
      });
    }
  });

  it('accepts a multi-signature header with one valid entry', () => {
    const header = [invalid, invalid.replace('v1,', 'v2,'), tv1.signature, invalid].join(' ');
    expect(bothVerify(tv1, { headers: headers(tv1, header) })).toEqual({
      ours: true,
      official: true,
    });
  });

  it('accepts secrets without the prefix and without padding', () => {
    expect(bothVerify(tv1, { secret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })).toEqual({
      ours: true,
      official: true,
    });
    // Unpadded secrets (the Python library accepts them): the signatures must still agree.
    for (const secret of [
      'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS',
      'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr',
    ]) {
      const signature = signWebhook({ ...tv1, secrets: [secret] });
      expect(
        verifyWebhook({
          secret,
          headers: headers(tv1, signature),
          body: tv1.body,
          now: tv1.timestamp * 1000,
        }),
      ).toEqual({ test: 2432232314 });
    }
  });

  it('rejects timestamps beyond the tolerance either way, and non-numeric ones', () => {
    const tolerance = 5 * 60;
    const early = (tv1.timestamp - tolerance - 1) * 1000;
    const late = (tv1.timestamp + tolerance + 1) * 1000;
    expect(bothVerify(tv1, { now: late })).toEqual({ ours: false, official: false });
    expect(bothVerify(tv1, { now: early })).toEqual({ ours: false, official: false });
    expect(bothVerify(tv1, { now: (tv1.timestamp + tolerance - 1) * 1000 })).toEqual({
      ours: true,
      official: true,
    });
    const hello = { ...headers(tv1), 'webhook-timestamp': 'hello' };
    expect(bothVerify(tv1, { headers: hello })).toEqual({ ours: false, official: false });
    expect(() => verifyWebhook({ secret: tv1.secret, headers: hello, body: tv1.body })).toThrow(
      InvalidSignatureError,
    );
  });

  // A tolerance read from configuration that is missing or mistyped (NaN, a string) must not
  // turn the replay check off: every comparison with NaN is false, and `now + '300'` is text.
  it('refuses every delivery when the tolerance or now is not a number, instead of any timestamp', () => {
    const dayLater = (tv1.timestamp + 86_400) * 1000;
    const verify = (options: { toleranceSeconds?: unknown; now?: unknown }) => () =>
      verifyWebhook({
        secret: tv1.secret,
        headers: headers(tv1),
        body: tv1.body,
        ...(options as { toleranceSeconds?: number; now?: number }),
      });
    for (const toleranceSeconds of [Number.NaN, -1, '300']) {
      expect(verify({ toleranceSeconds, now: dayLater })).toThrow(InvalidSignatureError);
      expect(verify({ toleranceSeconds, now: tv1.timestamp * 1000 })).toThrow(
        /toleranceSeconds must be a number of seconds, 0 or more/,
      );
    }
    for (const now of [Number.NaN, '1614265330000', Number.POSITIVE_INFINITY]) {
      expect(verify({ now })).toThrow(/now must be a time in milliseconds/);
    }
    // Numbers still work as they did: a day of tolerance accepts the day-old delivery.
    expect(verify({ toleranceSeconds: 86_400, now: dayLater })()).toEqual({ test: 2432232314 });
  });

  it('rejects a missing id, timestamp or signature header with MissingSignatureError', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const partial = headers(tv1);
      delete partial[name];
      expect(bothVerify(tv1, { headers: partial })).toEqual({ ours: false, official: false });
      expect(() =>
        verifyWebhook({
          secret: tv1.secret,
          headers: partial,
          body: tv1.body,
          now: tv1.timestamp * 1000,
        }),
      ).toThrow(MissingSignatureError);
    }
  });

  it('reads a Headers object and mixed-case Node header records', () => {
    const now = tv1.timestamp * 1000;
    expect(
      verifyWebhook({
        secret: tv1.secret,
        headers: new Headers(headers(tv1)),
        body: tv1.body,
        now,
      }),
    ).toEqual({
      test: 2432232314,
    });
    const mixed = {
      'Webhook-Id': tv1.id,
      'Webhook-Timestamp': String(tv1.timestamp),
      'Webhook-Signature': tv1.signature,
    };
    expect(
      verifyWebhook({
        secret: tv1.secret,
        headers: mixed,
        body: new TextEncoder().encode(tv1.body),
        now,
      }),
    ).toEqual({
      test: 2432232314,
    });
  });

  it('signs the raw bytes, and parses them as the official library does (BOM, invalid UTF-8)', () => {
    const now = tv1.timestamp * 1000;
    const bodies: [string, Uint8Array][] = [
      [
        'a byte order mark',
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]),
      ],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
      ['a lone continuation byte', Buffer.from([0x5b, 0x22, 0x80, 0x78, 0x22, 0x5d])],
    ];
    const realNow = Date.now;
    for (const [name, body] of bodies) {
      const signature = new Webhook(tv1.secret).sign(tv1.id, new Date(now), body);
      const signed = headers(tv1, signature);
      Date.now = () => now;
      let official: unknown;
      try {
        official = new Webhook(tv1.secret).verify(body, signed);
      } finally {
        Date.now = realNow;
      }
      const ours = verifyWebhook({ secret: tv1.secret, headers: signed, body, now });
      expect([name, ours]).toEqual([name, official]);
      // A body not as signed is refused by both.
      const altered = new TextEncoder().encode(new TextDecoder().decode(body));
      expect(() =>
        verifyWebhook({ secret: tv1.secret, headers: signed, body: altered, now }),
      ).toThrow(InvalidSignatureError);
    }
  });
});
