import { describe, expect, it } from 'vitest';
import { BusUnavailableError } from './bus-unavailable-error';
import { CallTrackError } from './calltrack-error';
import { InvalidSignatureError } from './invalid-signature-error';
import { MissingSignatureError } from './missing-signature-error';
import { ProviderApiError } from './provider-api-error';
import { UnsupportedOperationError } from './unsupported-operation-error';

describe('CallTrackError family', () => {
  it('carries a stable code, an HTTP status and the cause', () => {
    const cause = new Error('socket closed');
    const error = new BusUnavailableError({ message: 'Redis is down', cause });
    expect(error.code).toBe('bus_unavailable');
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('CallTrack_BusUnavailableError');
    expect(error).toBeInstanceOf(Error);
  });

  it('isInstance recognises the class and the base, and nothing else', () => {
    const error = new InvalidSignatureError({ message: 'bad' });
    expect(InvalidSignatureError.isInstance(error)).toBe(true);
    expect(CallTrackError.isInstance(error)).toBe(true);
    expect(MissingSignatureError.isInstance(error)).toBe(false);
    expect(CallTrackError.isInstance(new Error('plain'))).toBe(false);
    expect(CallTrackError.isInstance(null)).toBe(false);
    expect(CallTrackError.isInstance('invalid_signature')).toBe(false);
  });

  it('isInstance works for an error from another copy of the package (marker, not prototype)', () => {
    const foreign = Object.assign(new Error('copy'), {
      [Symbol.for('calltrack.error')]: true,
      [Symbol.for('calltrack.error.CallTrack_InvalidSignatureError')]: true,
    });
    expect(CallTrackError.isInstance(foreign)).toBe(true);
    expect(InvalidSignatureError.isInstance(foreign)).toBe(true);
  });

  it('ProviderApiError marks network failures, 429 and 5xx as retryable, other 4xx not', () => {
    const make = (providerStatus?: number) =>
      new ProviderApiError({ message: 'x', provider: 'twilio', providerStatus });
    expect(make(undefined).isRetryable).toBe(true);
    expect(make(429).isRetryable).toBe(true);
    expect(make(503).isRetryable).toBe(true);
    expect(make(400).isRetryable).toBe(false);
    expect(make(404).isRetryable).toBe(false);
    expect(make(404).status).toBe(502);
  });

  it('ProviderApiError treats an answer below 400 as ambiguous, unless the answer said it refused', () => {
    // A 2xx whose body could not be read or was not the resource: the provider acted.
    for (const providerStatus of [200, 201, 204, 302]) {
      const error = new ProviderApiError({ message: 'x', provider: 'twilio', providerStatus });
      expect(error.isRetryable, String(providerStatus)).toBe(true);
    }
    // CallerDesk answers its refusals with HTTP 200 and {"type":"error"}.
    const refusal = new ProviderApiError({
      message: 'x',
      provider: 'callerdesk',
      providerStatus: 200,
      refused: true,
    });
    expect(refusal.isRetryable).toBe(false);
  });

  it('ProviderApiError carries the provider’s Retry-After, in seconds', () => {
    const limited = new ProviderApiError({
      message: 'x',
      provider: 'twilio',
      providerStatus: 429,
      retryAfterSeconds: 7,
    });
    expect(limited.retryAfterSeconds).toBe(7);
    expect(new ProviderApiError({ message: 'x', provider: 'twilio' }).retryAfterSeconds).toBe(
      undefined,
    );
  });

  it('UnsupportedOperationError is a 501 with a stable code', () => {
    const error = new UnsupportedOperationError({ message: 'CallerDesk cannot end calls.' });
    expect(error).toMatchObject({ code: 'unsupported_operation', status: 501 });
    expect(UnsupportedOperationError.isInstance(error)).toBe(true);
    expect(ProviderApiError.isInstance(error)).toBe(false);
  });
});
