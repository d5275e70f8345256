import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeTwilioBodySha256 } from './compute-twilio-body-sha256';
import { computeTwilioSignature } from './compute-twilio-signature';
import { verifyTwilioSignature } from './verify-twilio-signature';

// Test vectors from twilio-node spec/validation.spec.js (shared/reference/providers.md §1.6).
const authToken = '12345';
const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const params = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const defaultSignature = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';
const body = '{"property": "value", "boolean": true}';
const bodyHash = '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620';
const emptyBodyHash = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

describe('verifyTwilioSignature: reference vectors', () => {
  it('accepts the correct signature', () => {
    expect(verifyTwilioSignature({ authToken, url, params, signature: defaultSignature })).toBe(
      true,
    );
  });

  it('accepts the params as URLSearchParams or as the raw form body', () => {
    const form = new URLSearchParams(params).toString();
    expect(
      verifyTwilioSignature({
        authToken,
        url,
        params: new URLSearchParams(form),
        signature: defaultSignature,
      }),
    ).toBe(true);
    expect(verifyTwilioSignature({ authToken, url, body: form, signature: defaultSignature })).toBe(
      true,
    );
    expect(
      verifyTwilioSignature({
        authToken,
        url,
        body: new TextEncoder().encode(form),
        signature: defaultSignature,
      }),
    ).toBe(true);
  });

  it('accepts a URL object', () => {
    expect(
      verifyTwilioSignature({ authToken, url: new URL(url), params, signature: defaultSignature }),
    ).toBe(true);
  });

  it('rejects a wrong signature', () => {
    expect(verifyTwilioSignature({ authToken, url, params, signature: 'WRONG_SIGNATURE' })).toBe(
      false,
    );
  });

  it('validates https URLs with a port by stripping it', () => {
    expect(
      verifyTwilioSignature({
        authToken,
        url: 'https://mycompany.com:1234/myapp.php?foo=1&bar=2',
        params,
        signature: defaultSignature,
      }),
    ).toBe(true);
  });

  it('validates http URLs with a port as they are', () => {
    expect(
      verifyTwilioSignature({
        authToken,
        url: 'http://mycompany.com:1234/myapp.php?foo=1&bar=2',
        params,
        signature: 'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=',
      }),
    ).toBe(true);
  });

  it('validates URLs without a port by adding 443 / 80', () => {
    expect(
      verifyTwilioSignature({ authToken, url, params, signature: 'kvajT1Ptam85bY51eRf/AJRuM3w=' }),
    ).toBe(true);
    expect(
      verifyTwilioSignature({
        authToken,
        url: url.replace('https', 'http'),
        params,
        signature: '0ZXoZLH/DfblKGATFgpif+LLRf4=',
      }),
    ).toBe(true);
  });

  it('validates URLs with credentials, with and without the added port', () => {
    const withCredentials = 'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2';
    for (const signature of ['CukzLTc1tT5dXEDIHm/tKBanW10=', 'ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=']) {
      expect(verifyTwilioSignature({ authToken, url: withCredentials, params, signature })).toBe(
        true,
      );
    }
    expect(
      verifyTwilioSignature({
        authToken,
        url: 'https://user@mycompany.com/myapp.php?foo=1&bar=2',
        params,
        signature: '2YRLlVAflCqxaNicjMpJcSTgzSs=',
      }),
    ).toBe(true);
  });

  it("validates apostrophes in the query whether Twilio signed ' or %27", () => {
    // TfZz… is the HMAC over the WHATWG form (%27), dsq4… over the raw apostrophe.
    for (const signature of ['TfZzewPq8wqrGlMfyAud8+/IvJ0=', 'dsq4Ehbj6cs+KdTkpF5sSSplOWw=']) {
      expect(
        verifyTwilioSignature({ authToken, url: `${url}&Body=It's+amazing`, params, signature }),
      ).toBe(true);
      // What Request.url / new URL() hands the handler: the apostrophe percent-encoded.
      expect(
        verifyTwilioSignature({ authToken, url: `${url}&Body=It%27s+amazing`, params, signature }),
      ).toBe(true);
    }
  });

  it('validates a query that a framework re-encoded (+ as %20)', () => {
    const signature = computeTwilioSignature({
      authToken,
      url: 'https://example.com/hook?name=Ann%20Lee',
      params,
    });
    expect(
      verifyTwilioSignature({
        authToken,
        url: 'https://example.com/hook?name=Ann+Lee',
        params,
        signature,
      }),
    ).toBe(true);
  });

  it('validates array parameters regardless of value order', () => {
    for (const values of [
      ['+1325xxxxxxx', '+1415xxxxxxx'],
      ['+1415xxxxxxx', '+1325xxxxxxx'],
    ]) {
      expect(
        verifyTwilioSignature({
          authToken,
          url,
          params: { 'MessagingBinding.Address': values },
          signature: '83O6e2vORAoJHUNzJjDWN1jz+BA=',
        }),
      ).toBe(true);
    }
    expect(
      verifyTwilioSignature({
        authToken,
        url,
        params: new URLSearchParams(
          'Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234',
        ),
        signature: 'IK+Dwps556ElfBT0I3Rgjkr1wJU=',
      }),
    ).toBe(true);
  });

  it('validates the JSON variant: signature over the URL, body bound by bodySHA256', () => {
    expect(
      verifyTwilioSignature({
        authToken,
        url: `${url}&bodySHA256=${bodyHash}`,
        body,
        signature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
      }),
    ).toBe(true);
    expect(
      verifyTwilioSignature({
        authToken,
        url: `https://mycompany.com/myapp.php?bodySHA256=${bodyHash}`,
        body,
        signature: 'y77kIzt2vzLz71DgmJGsen2scGs=',
      }),
    ).toBe(true);
  });

  it('validates the empty JSON body, which matches only with :443 added', () => {
    expect(
      verifyTwilioSignature({
        authToken,
        url: `${url}&bodySHA256=${emptyBodyHash}`,
        body: '{}',
        signature: 'Ldidvp12m26NI7eqEvxnEpkd9Hc=',
      }),
    ).toBe(true);
  });

  it('rejects a JSON body whose hash does not match bodySHA256', () => {
    expect(
      verifyTwilioSignature({
        authToken,
        url: `${url}&bodySHA256=${bodyHash}`,
        body: `${body} `,
        signature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
      }),
    ).toBe(false);
    expect(
      verifyTwilioSignature({
        authToken,
        url: `${url}&bodySHA256=${bodyHash.slice(0, -1)}`,
        body,
        signature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
      }),
    ).toBe(false);
  });

  it('rejects a JSON body signed as if it were a form (no bodySHA256 in the URL)', () => {
    expect(verifyTwilioSignature({ authToken, url, body, signature: defaultSignature })).toBe(
      false,
    );
  });

  it('rejects the JSON variant without a body', () => {
    expect(
      verifyTwilioSignature({
        authToken,
        url: `${url}&bodySHA256=${bodyHash}`,
        signature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
      }),
    ).toBe(false);
  });
});

describe('verifyTwilioSignature: malformed input returns false and never throws', () => {
  const valid = { authToken, url, params, signature: defaultSignature };
  const cases: [string, unknown][] = [
    ['undefined signature', { ...valid, signature: undefined }],
    ['null signature', { ...valid, signature: null }],
    ['empty signature', { ...valid, signature: '' }],
    ['numeric signature', { ...valid, signature: 42 }],
    ['huge signature', { ...valid, signature: 'A'.repeat(10_000) }],
    ['empty token', { ...valid, authToken: '' }],
    ['missing token', { ...valid, authToken: undefined }],
    ['wrong token', { ...valid, authToken: '54321' }],
    ['empty url', { ...valid, url: '' }],
    ['non-url', { ...valid, url: 'not a url' }],
    ['numeric url', { ...valid, url: 12 }],
    ['null url', { ...valid, url: null }],
    ['params of wrong type', { ...valid, params: 'CallSid=1' }],
    ['param values of wrong type', { ...valid, params: { CallSid: 1, To: { x: 1 } } }],
    ['body of wrong type', { ...valid, params: undefined, body: 12 }],
    ['null options', null],
    ['string options', 'x'],
    ['bodySHA256 with a body of wrong type', { ...valid, url: `${url}&bodySHA256=abc`, body: {} }],
    ['bodySHA256 empty', { ...valid, url: `${url}&bodySHA256=`, body: '' }],
    ['signature with the padding removed', { ...valid, signature: defaultSignature.slice(0, -1) }],
    ['signature with a trailing space', { ...valid, signature: `${defaultSignature} ` }],
    ['an extra param', { ...valid, params: { ...params, Extra: '1' } }],
  ];
  it.each(cases)('%s', (_name, options) => {
    expect(() => verifyTwilioSignature(options as never)).not.toThrow();
    expect(verifyTwilioSignature(options as never)).toBe(false);
  });

  it('survives a params object whose getters throw', () => {
    const hostile = {
      get CallSid(): string {
        throw new Error('boom');
      },
    };
    expect(verifyTwilioSignature({ ...valid, params: hostile })).toBe(false);
  });
});

describe('verifyTwilioSignature: properties', () => {
  const token = fc.string({ minLength: 1, maxLength: 40 });
  const safe = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
  const urlArbitrary = fc
    .record({
      scheme: fc.constantFrom('http', 'https'),
      host: fc.stringMatching(/^[a-z][a-z0-9]{0,10}\.(com|io|dev)$/),
      path: fc.array(safe, { maxLength: 3 }),
      query: fc.array(fc.tuple(safe, safe), { maxLength: 3 }),
    })
    .map(
      ({ scheme, host, path, query }) =>
        `${scheme}://${host}/${path.join('/')}` +
        (query.length === 0 ? '' : `?${query.map(([k, v]) => `${k}=${v}`).join('&')}`),
    );
  const paramsArbitrary = fc.dictionary(
    fc.string({ maxLength: 12 }),
    fc.string({ maxLength: 30 }),
    {
      maxKeys: 8,
    },
  );

  it('a signature made for random params verifies', () => {
    fc.assert(
      fc.property(token, urlArbitrary, paramsArbitrary, (authToken, url, params) => {
        const signature = computeTwilioSignature({ authToken, url, params });
        return verifyTwilioSignature({ authToken, url, params, signature });
      }),
    );
  });

  it('a changed character in a param value fails', () => {
    fc.assert(
      fc.property(
        token,
        urlArbitrary,
        paramsArbitrary.filter((params) => Object.values(params).some((value) => value !== '')),
        fc.nat(),
        fc.nat(),
        (authToken, url, params, keyPick, charPick) => {
          const signature = computeTwilioSignature({ authToken, url, params });
          const keys = Object.keys(params).filter((key) => params[key] !== '');
          const key = keys[keyPick % keys.length]!;
          const value = params[key]!;
          const index = charPick % value.length;
          const replacement = value[index] === 'x' ? 'y' : 'x';
          const changed = {
            ...params,
            [key]: value.slice(0, index) + replacement + value.slice(index + 1),
          };
          return !verifyTwilioSignature({ authToken, url, params: changed, signature });
        },
      ),
    );
  });

  it('a changed character in the URL path or query fails', () => {
    fc.assert(
      fc.property(
        token,
        urlArbitrary,
        paramsArbitrary,
        fc.nat(),
        (authToken, url, params, pick) => {
          const signature = computeTwilioSignature({ authToken, url, params });
          const start = url.indexOf('/', url.indexOf('//') + 2);
          const positions = [...url.slice(start)]
            .map((character, offset) => ({ character, index: start + offset }))
            .filter(({ character }) => /[A-Za-z0-9]/.test(character));
          fc.pre(positions.length > 0);
          const { character, index } = positions[pick % positions.length]!;
          const replacement = character === 'q' ? 'r' : 'q';
          const changed = url.slice(0, index) + replacement + url.slice(index + 1);
          return !verifyTwilioSignature({ authToken, url: changed, params, signature });
        },
      ),
    );
  });

  it('a changed character in the signature fails', () => {
    fc.assert(
      fc.property(
        token,
        urlArbitrary,
        paramsArbitrary,
        fc.nat(),
        (authToken, url, params, pick) => {
          const signature = computeTwilioSignature({ authToken, url, params });
          const index = pick % signature.length;
          const replacement = signature[index] === 'A' ? 'B' : 'A';
          const changed = signature.slice(0, index) + replacement + signature.slice(index + 1);
          return !verifyTwilioSignature({ authToken, url, params, signature: changed });
        },
      ),
    );
  });

  it('a JSON body verifies, and any changed byte of it fails', () => {
    fc.assert(
      fc.property(
        token,
        urlArbitrary,
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        (authToken, base, bytes, pick) => {
          const signedUrl = `${base}${base.includes('?') ? '&' : '?'}bodySHA256=${computeTwilioBodySha256(bytes)}`;
          const signature = computeTwilioSignature({ authToken, url: signedUrl });
          if (!verifyTwilioSignature({ authToken, url: signedUrl, body: bytes, signature })) {
            return false;
          }
          const changed = bytes.slice();
          const index = pick % changed.length;
          changed[index] = (changed[index]! + 1) % 256;
          return !verifyTwilioSignature({ authToken, url: signedUrl, body: changed, signature });
        },
      ),
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), (a, b, c, d) => {
        const result = verifyTwilioSignature({
          authToken: a,
          url: b,
          params: c,
          signature: d,
        } as never);
        return result === false || result === true;
      }),
    );
  });
});
