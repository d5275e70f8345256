// The README's error table: every class of the family, from the package entry, with the code
// and status it documents, and the headers `toErrorResponse` answers them with.
import { describe, expect, it } from 'vitest';
import {
  AddressNotAllowedError,
  AmbiguousCredentialsError,
  BusUnavailableError,
  type CallTrackError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidPayloadError,
  InvalidSignatureError,
  MethodNotAllowedError,
  MissingSignatureError,
  NotFoundError,
  PayloadTooLargeError,
  ProviderApiError,
  RateLimitedError,
  RedisUnavailableError,
  toErrorResponse,
  UnauthorizedError,
  UnknownTenantError,
  UnsupportedMediaTypeError,
  UnsupportedOperationError,
} from '../index';

const message = 'refused';

const table: [CallTrackError, string, number][] = [
  [new InvalidArgumentError({ message }), 'invalid_argument', 400],
  [new InvalidPayloadError({ message }), 'invalid_payload', 400],
  [new InvalidEventError({ issues: [] }), 'invalid_event', 400],
  [new AmbiguousCredentialsError({ message }), 'ambiguous_credentials', 400],
  [new MissingSignatureError({ message }), 'missing_signature', 401],
  [new UnauthorizedError({ message }), 'unauthorized', 401],
  [new InvalidSignatureError({ message }), 'invalid_signature', 403],
  [new AddressNotAllowedError({ message }), 'address_not_allowed', 403],
  [new NotFoundError({ message }), 'not_found', 404],
  [new MethodNotAllowedError({ message, allow: ['POST'] }), 'method_not_allowed', 405],
  [new PayloadTooLargeError({ message }), 'payload_too_large', 413],
  [new UnsupportedMediaTypeError({ message }), 'unsupported_media_type', 415],
  [new UnknownTenantError({ message }), 'unknown_tenant', 422],
  [new RateLimitedError({ message, retryAfterSeconds: 7 }), 'rate_limited', 429],
  [new UnsupportedOperationError({ message }), 'unsupported_operation', 501],
  [
    new ProviderApiError({ message, provider: 'twilio', providerStatus: 500 }),
    'provider_api_error',
    502,
  ],
  [new BusUnavailableError({ message }), 'bus_unavailable', 503],
  [new RedisUnavailableError({ message }), 'redis_unavailable', 503],
];

describe('the README’s error table', () => {
  it.each(table)(
    '%s has its code and status, and is answered with them',
    async (error, code, status) => {
      expect(error).toMatchObject({ code, status });
      const response = toErrorResponse(error);
      expect(response.status).toBe(status);
      expect((await response.json()).error).toMatchObject({ code });
    },
  );

  it('answers 405 with Allow, 429 and 503 with Retry-After', () => {
    const headers = (error: CallTrackError) => toErrorResponse(error).headers;
    expect(headers(table[9]![0]).get('allow')).toBe('POST');
    expect(headers(table[13]![0]).get('retry-after')).toBe('7');
    expect(headers(table[16]![0]).get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(headers(table[17]![0]).get('retry-after')).toMatch(/^[1-9]\d*$/);
  });
});
