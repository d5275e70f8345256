import { describe, expect, it } from 'vitest';
import { foreignRequestSender } from './foreign-request-sender';
import { parseAllowedOrigins } from './parse-allowed-origins';

const allowed = parseAllowedOrigins('test', ['https://app.example', 'http://localhost:5173'])!;

/** The same headers as a Fetch `Headers` and as Node's `IncomingMessage` holds them. */
function bothKinds(headers: Record<string, string>) {
  return [new Headers(headers), headers] as const;
}

describe('foreignRequestSender', () => {
  it('lets in a listed Origin, whatever Sec-Fetch-Site says', () => {
    for (const site of [undefined, 'same-origin', 'same-site', 'cross-site']) {
      for (const headers of bothKinds({
        origin: 'https://app.example',
        ...(site === undefined ? {} : { 'sec-fetch-site': site }),
      })) {
        expect(foreignRequestSender(headers, allowed)).toBeUndefined();
      }
    }
  });

  it('refuses an Origin the list does not hold, and null, naming it', () => {
    for (const origin of ['https://evil.example', 'null', 'https://app.example.evil.example']) {
      for (const headers of bothKinds({ origin, 'sec-fetch-site': 'same-origin' })) {
        expect(foreignRequestSender(headers, allowed)).toBe(`Origin ${origin}`);
      }
    }
    // Node's headers: a repeated Origin is joined, and names no listed origin.
    expect(
      foreignRequestSender({ origin: ['https://app.example', 'https://evil.example'] }, allowed),
    ).toBe('Origin https://app.example, https://evil.example');
  });

  it('without Origin, refuses what a browser says another origin’s page sent (an image, a no-cors fetch, a link)', () => {
    for (const site of ['same-site', 'cross-site', 'Cross-Site']) {
      for (const headers of bothKinds({ 'sec-fetch-site': site })) {
        expect(foreignRequestSender(headers, allowed)).toBe(
          `A ${site.toLowerCase()} page of another origin`,
        );
      }
    }
    // No browser sends anything else: not let in on a guess.
    expect(foreignRequestSender({ 'sec-fetch-site': 'elsewhere' }, allowed)).toBe(
      'A request with Sec-Fetch-Site elsewhere',
    );
  });

  it('without Origin, lets in the app’s own page, a typed URL, and a client that is no browser', () => {
    for (const headers of [
      ...bothKinds({ 'sec-fetch-site': 'same-origin' }),
      ...bothKinds({ 'sec-fetch-site': 'none' }),
      ...bothKinds({}),
      { origin: undefined, 'sec-fetch-site': undefined },
    ]) {
      expect(foreignRequestSender(headers, allowed)).toBeUndefined();
    }
  });

  it('lets nothing in with an empty list but requests no browser page sent', () => {
    const none = new Set<string>();
    expect(foreignRequestSender({ origin: 'https://app.example' }, none)).toBe(
      'Origin https://app.example',
    );
    expect(foreignRequestSender({ 'sec-fetch-site': 'same-site' }, none)).toBeDefined();
    expect(foreignRequestSender({ 'sec-fetch-site': 'same-origin' }, none)).toBeUndefined();
    expect(foreignRequestSender({}, none)).toBeUndefined();
  });
});
