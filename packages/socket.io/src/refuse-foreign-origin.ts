import { InvalidArgumentError } from '@calltrack/core';
import type { ExtendedError, Socket } from 'socket.io';
import { refuseConnection } from './authenticate-handshake';

/**
 * The origins of `allowedOrigins` as browsers send them (`https://App.example:443/` is
 * `https://app.example`); throws `InvalidArgumentError` for an entry that is not an origin.
 */
export function parseAllowedOrigins(
  origins: readonly string[] | undefined,
): ReadonlySet<string> | undefined {
  if (origins === undefined) return undefined;
  if (!Array.isArray(origins)) {
    throw new InvalidArgumentError({
      message: 'attachCallTrack: allowedOrigins must be an array of origins',
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
        message: `attachCallTrack: allowedOrigins: "${origin}" is not an origin (https://app.example)`,
      });
    }
    allowed.add(parsed);
  }
  return allowed;
}

/**
 * The refusal (`origin_not_allowed`) for a handshake whose `Origin` header is not in `allowed`,
 * or undefined when it may go on. A handshake without the header goes on: browsers send it with
 * every WebSocket and every cross-origin request, so it comes from a client that is not a
 * browser (which holds no victim's cookies), or from a same-origin long-polling request.
 */
export function refuseForeignOrigin(
  socket: Socket,
  allowed: ReadonlySet<string>,
): ExtendedError | undefined {
  const { origin } = socket.handshake.headers;
  if (origin === undefined || allowed.has(origin)) return undefined;
  return refuseConnection(`Origin ${origin} is not allowed`, 'origin_not_allowed');
}
