import { InvalidArgumentError } from './errors/invalid-argument-error';
import { canonicalAddress } from './is-allowed-client-address';

/** What {@link checkWebhookHandlerOptions} is told about the provider's secret option. */
export interface WebhookSecretOption {
  /** The option's name, e.g. `apiKey`. */
  name: string;
  /** Shortest accepted static secret; default 1 (non-empty). */
  minimumLength?: number;
}

/**
 * Validates the options every provider webhook handler takes, when the handler is created, so a
 * missing secret or a misspelled option fails at startup with an `InvalidArgumentError` naming it
 * instead of answering 403 forever: the secret (a non-empty string, a non-empty list of them, or a
 * lookup function), `sink.publish`, `resolveTenant`, and, when given, `onError`, `allowIp` (IP
 * addresses or a function), `maxBodyBytes`, `includeRaw`, `clock` and `rateLimit`. Messages start
 * with `createdBy`.
 */
export function checkWebhookHandlerOptions(
  createdBy: string,
  options: unknown,
  secret: WebhookSecretOption,
): void {
  const fail = (message: string): never => {
    throw new InvalidArgumentError({ message: `${createdBy}: ${message}` });
  };
  if (options == null || typeof options !== 'object') fail('options are required.');
  const record = options as Record<string, unknown>;

  const minimumLength = secret.minimumLength ?? 1;
  const value = record[secret.name];
  if (typeof value !== 'function') {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0) {
      fail(`${secret.name} is required: a string, a list of strings, or a lookup function.`);
    }
    for (const item of list as readonly unknown[]) {
      if (typeof item !== 'string' || item.length < Math.max(1, minimumLength)) {
        fail(
          minimumLength > 1
            ? `every ${secret.name} must be a string of at least ${minimumLength} characters.`
            : `${secret.name} must not be empty (every value a non-empty string).`,
        );
      }
    }
  }
  const sink = record.sink as { publish?: unknown } | null | undefined;
  if (typeof sink?.publish !== 'function') fail('sink must have a publish(event) method.');
  if (typeof record.resolveTenant !== 'function') fail('resolveTenant must be a function.');
  if (record.onError !== undefined && typeof record.onError !== 'function') {
    fail('onError must be a function.');
  }
  const { allowIp } = record;
  if (
    allowIp !== undefined &&
    typeof allowIp !== 'function' &&
    !(Array.isArray(allowIp) && allowIp.every(isIpAddress))
  ) {
    // A range, a host name or a port never equals a client address: every webhook a 403.
    fail('allowIp must be a list of IP addresses (no ranges, host names or ports) or a function.');
  }
  const { maxBodyBytes } = record;
  if (
    maxBodyBytes !== undefined &&
    !(typeof maxBodyBytes === 'number' && Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)
  ) {
    fail('maxBodyBytes must be a positive integer.');
  }
  if (record.includeRaw !== undefined && typeof record.includeRaw !== 'boolean') {
    fail('includeRaw must be a boolean.');
  }
  const clock = record.clock as { now?: unknown } | null | undefined;
  if (clock !== undefined && typeof clock?.now !== 'function') {
    fail('clock must have a now() method.');
  }
  const { rateLimit } = record;
  if (rateLimit !== undefined) {
    if (rateLimit === null || typeof rateLimit !== 'object') {
      fail('rateLimit must be an object ({ perClientAddress?, perTenant? }).');
    }
    for (const [name, limiter] of Object.entries(rateLimit as object)) {
      if (name !== 'perClientAddress' && name !== 'perTenant') {
        fail(`rateLimit.${name} is not an option (perClientAddress, perTenant).`);
      }
      if (
        limiter !== undefined &&
        typeof (limiter as { consume?: unknown })?.consume !== 'function'
      ) {
        fail(
          `rateLimit.${name} must have a consume(key) method (a rate-limiter-flexible limiter).`,
        );
      }
    }
  }
}

/** An IPv4 address in dotted-quad form, or an IPv6 address in any form (with a zone, `fe80::1%eth0`). */
function isIpAddress(entry: unknown): boolean {
  return typeof entry === 'string' && canonicalAddress(entry) !== undefined;
}
