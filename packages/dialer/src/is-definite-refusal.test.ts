import { InvalidArgumentError, ProviderApiError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { isDefiniteRefusal } from './is-definite-refusal';

const providerError = (providerStatus?: number) =>
  new ProviderApiError({
    provider: 'twilio',
    providerStatus,
    message: `answered ${providerStatus}`,
  });

describe('isDefiniteRefusal', () => {
  it('is true for a 4xx other than 408, 409 and 429, and for an argument refused before sending', () => {
    for (const status of [400, 401, 403, 404, 422]) {
      expect(isDefiniteRefusal(providerError(status)), String(status)).toBe(true);
    }
    expect(isDefiniteRefusal(new InvalidArgumentError({ message: 'bad number' }))).toBe(true);
  });

  it('is false for a 2xx or 3xx whose answer could not be read: the provider may have created the call', () => {
    for (const status of [200, 201, 204, 302]) {
      expect(isDefiniteRefusal(providerError(status)), String(status)).toBe(false);
    }
  });

  it('is false for what may have placed a call: 408, 409, 429, 5xx, no status, other errors', () => {
    for (const status of [408, 409, 429, 500, 503, undefined]) {
      expect(isDefiniteRefusal(providerError(status)), String(status)).toBe(false);
    }
    expect(isDefiniteRefusal(new Error('socket hang up'))).toBe(false);
  });
});
