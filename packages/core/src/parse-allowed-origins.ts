import { InvalidArgumentError } from './errors/invalid-argument-error';

/**
 * The origins of an `allowedOrigins` option as browsers send them in the `Origin` header
 * (`https://App.example:443/` is `https://app.example`); undefined when the option is not given.
 * Throws `InvalidArgumentError` (its message starting with `createdBy`) for a value that is not
 * an array, or an entry that is not an origin. The one reading of the option, whose one rule is
 * `foreignRequestSender`: SSE's and tRPC's streams, Socket.IO's handshakes, the writes of the
 * dialer's, the tracker's and the webhooks' HTTP APIs.
 * @internal
 */
export function parseAllowedOrigins(
  createdBy: string,
  origins: readonly string[] | undefined,
): ReadonlySet<string> | undefined {
  if (origins === undefined) return undefined;
  if (!Array.isArray(origins)) {
    throw new InvalidArgumentError({
      message: `${createdBy}: allowedOrigins must be an array of origins.`,
    });
  }
  const allowed = new Set<string>();
  for (const origin of origins) {
    let parsed: string | undefined;
    try {
      parsed = typeof origin === 'string' ? new URL(origin).origin : undefined;
    } catch {}
    // `null`: a URL without an origin of its own (`data:`, `file:`).
    if (parsed === undefined || parsed === 'null') {
      throw new InvalidArgumentError({
        message: `${createdBy}: allowedOrigins: "${origin}" is not an origin (https://app.example).`,
      });
    }
    allowed.add(parsed);
  }
  return allowed;
}
