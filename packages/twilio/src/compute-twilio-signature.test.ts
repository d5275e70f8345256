import { describe, expect, it } from 'vitest';
import { computeTwilioBodySha256 } from './compute-twilio-body-sha256';
import { computeTwilioSignature } from './compute-twilio-signature';

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

describe('computeTwilioSignature', () => {
  it.each([
    [url, 'RSOYDt4T1cUTdK1PDd93/VVr8B8='],
    ['https://mycompany.com:443/myapp.php?foo=1&bar=2', 'kvajT1Ptam85bY51eRf/AJRuM3w='],
    ['http://mycompany.com:80/myapp.php?foo=1&bar=2', '0ZXoZLH/DfblKGATFgpif+LLRf4='],
    ['http://mycompany.com:1234/myapp.php?foo=1&bar=2', 'Zmvh+3yNM1Phv2jhDCwEM3q5ebU='],
    ['https://user:pass@mycompany.com/myapp.php?foo=1&bar=2', 'CukzLTc1tT5dXEDIHm/tKBanW10='],
    ['https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2', 'ZQFR1PTIZXF2MXB8ZnKCvnnA+rI='],
    ['https://user@mycompany.com/myapp.php?foo=1&bar=2', '2YRLlVAflCqxaNicjMpJcSTgzSs='],
  ])('signs %s', (signedUrl, expected) => {
    expect(computeTwilioSignature({ authToken, url: signedUrl, params })).toBe(expected);
  });

  it('signs repeated keys with de-duplicated, sorted values', () => {
    expect(
      computeTwilioSignature({
        authToken,
        url,
        params: { 'MessagingBinding.Address': ['+1415xxxxxxx', '+1325xxxxxxx'] },
      }),
    ).toBe('83O6e2vORAoJHUNzJjDWN1jz+BA=');
    expect(
      computeTwilioSignature({
        authToken,
        url,
        params: { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] },
      }),
    ).toBe('IK+Dwps556ElfBT0I3Rgjkr1wJU=');
  });

  it('signs only the URL for the JSON variant', () => {
    const hash = computeTwilioBodySha256('{"property": "value", "boolean": true}');
    expect(hash).toBe('0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620');
    expect(computeTwilioSignature({ authToken, url: `${url}&bodySHA256=${hash}` })).toBe(
      'a9nBmqA0ju/hNViExpshrM61xv4=',
    );
    expect(
      computeTwilioSignature({
        authToken,
        url: `https://mycompany.com/myapp.php?bodySHA256=${hash}`,
      }),
    ).toBe('y77kIzt2vzLz71DgmJGsen2scGs=');
  });

  it('hashes bytes and strings alike', () => {
    expect(computeTwilioBodySha256(new TextEncoder().encode('{}'))).toBe(
      '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
  });
});
