import { describe, expect, it } from 'vitest';
import { checkWebhookHandlerOptions } from './check-webhook-handler-options';

const valid = {
  apiKey: 'key',
  sink: { publish: async () => ({ duplicate: false }) },
  resolveTenant: () => ({ tenantId: 'acme' }),
};
const check = (options: unknown, minimumLength?: number) => () =>
  checkWebhookHandlerOptions('createTestHandler', options, {
    name: 'apiKey',
    ...(minimumLength === undefined ? {} : { minimumLength }),
  });

describe('checkWebhookHandlerOptions', () => {
  it('accepts valid options: a secret, a list of secrets, or a lookup', () => {
    expect(check(valid)).not.toThrow();
    expect(check({ ...valid, apiKey: ['a', 'b'] })).not.toThrow();
    expect(check({ ...valid, apiKey: () => 'key' })).not.toThrow();
    expect(
      check({
        ...valid,
        onError: () => {},
        allowIp: ['100.20.5.228', '2001:db8::1', '::ffff:100.20.5.228', 'fe80::1%eth0'],
        maxBodyBytes: 1024,
        includeRaw: true,
        clock: { now: () => 0 },
        rateLimit: { perClientAddress: { consume: async () => ({}) } },
      }),
    ).not.toThrow();
  });

  it.each([
    ['a missing secret', { ...valid, apiKey: undefined }, 'apiKey is required'],
    ['an empty secret', { ...valid, apiKey: '' }, 'apiKey must not be empty'],
    ['an empty list', { ...valid, apiKey: [] }, 'apiKey is required'],
    ['an empty secret in a list', { ...valid, apiKey: ['key', ''] }, 'apiKey must not be empty'],
    ['no sink', { ...valid, sink: {} }, 'sink must have a publish'],
    ['no resolveTenant', { ...valid, resolveTenant: 'acme' }, 'resolveTenant must be a function'],
    ['a bad onError', { ...valid, onError: 'log' }, 'onError must be a function'],
    ['a bad allowIp', { ...valid, allowIp: '1.2.3.4' }, 'allowIp must be'],
    // Compared as exact addresses, these admitted no client: every webhook answered 403.
    ['a CIDR range in allowIp', { ...valid, allowIp: ['10.0.0.0/8'] }, 'allowIp must be'],
    ['a host name in allowIp', { ...valid, allowIp: ['hooks.example.com'] }, 'allowIp must be'],
    ['an address with a port in allowIp', { ...valid, allowIp: ['1.2.3.4:443'] }, 'allowIp must'],
    ['a partial address in allowIp', { ...valid, allowIp: ['100.20.5'] }, 'allowIp must be'],
    ['a bad maxBodyBytes', { ...valid, maxBodyBytes: 0 }, 'maxBodyBytes must be'],
    ['a bad includeRaw', { ...valid, includeRaw: 'yes' }, 'includeRaw must be'],
    // Otherwise every webhook answers 500 (`clock.now is not a function`) until a restart.
    ['a clock without now()', { ...valid, clock: Date.now }, 'clock must have a now() method'],
    [
      'a limiter without consume',
      { ...valid, rateLimit: { perTenant: {} } },
      'rateLimit.perTenant must have a consume(key)',
    ],
    ['an unknown limit', { ...valid, rateLimit: { perIp: {} } }, 'rateLimit.perIp is not'],
    ['no options', undefined, 'options are required'],
  ])('throws InvalidArgumentError at once for %s', (_case, options, message) => {
    expect(check(options)).toThrow(
      expect.objectContaining({
        code: 'invalid_argument',
        message: expect.stringContaining(`createTestHandler: ${message}`),
      }),
    );
  });

  it('enforces a minimum secret length when asked', () => {
    expect(check({ ...valid, apiKey: 'short' }, 16)).toThrow(/at least 16 characters/);
    expect(check({ ...valid, apiKey: 'x'.repeat(16) }, 16)).not.toThrow();
  });
});
