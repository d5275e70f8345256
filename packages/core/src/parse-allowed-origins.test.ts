import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors/invalid-argument-error';
import { parseAllowedOrigins } from './parse-allowed-origins';

describe('parseAllowedOrigins', () => {
  it('reads each entry as the origin a browser sends, and nothing given as undefined', () => {
    expect(
      parseAllowedOrigins('test', ['https://App.example:443/', 'http://localhost:3000/path?q=1']),
    ).toEqual(new Set(['https://app.example', 'http://localhost:3000']));
    expect(parseAllowedOrigins('test', [])).toEqual(new Set());
    expect(parseAllowedOrigins('test', undefined)).toBeUndefined();
  });

  it('refuses what is not an origin, or not an array, naming who was given it', () => {
    for (const origin of ['app.example', '*', 'data:text/plain,x', '', 42]) {
      expect(() => parseAllowedOrigins('attachThing', [origin as string])).toThrow(
        new InvalidArgumentError({
          message: `attachThing: allowedOrigins: "${origin}" is not an origin (https://app.example).`,
        }),
      );
    }
    expect(() => parseAllowedOrigins('attachThing', 'https://app.example' as never)).toThrow(
      'attachThing: allowedOrigins must be an array of origins.',
    );
  });
});
