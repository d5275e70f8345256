import { CallTrackError, type Principal, principalSchema } from '@calltrack/core';
import type { ExtendedError, Socket } from 'socket.io';
import { formatIssues } from './client-payload-schemas';

/**
 * The app's check of a connection: verify the credentials in the handshake (for example a JWT
 * in `handshake.auth.token`, or a session cookie in `handshake.headers.cookie`) and return who
 * it is (a `Principal`), or null to refuse it. The tenant must come from the verified
 * credentials, never from something else the client sent; `allTenants: true` (every tenant's
 * events and calls) only for principals your app trusts with every tenant's data.
 *
 * A cookie is sent by the browser on its own, whichever site opened the connection, and
 * Socket.IO's `cors` option does not apply to WebSockets: with cookies, also check
 * `handshake.headers.origin` (`attachCallTrack`'s `allowedOrigins` does), or use a token the
 * page must send itself (`handshake.auth.token`).
 */
export type AuthenticateSocket = (
  handshake: Socket['handshake'],
  socket: Socket,
) => Principal | null | undefined | Promise<Principal | null | undefined>;

/** Data a refused connection's `connect_error` carries in `error.data`. */
export interface ConnectErrorData {
  /**
   * `unauthorized`, `origin_not_allowed` (the `Origin` header is not in `allowedOrigins`),
   * `invalid_payload` (a malformed `auth.lastCursor`, `auth.types`, `auth.stream` or
   * `auth.calls`) or `internal_error`.
   */
  code: 'unauthorized' | 'origin_not_allowed' | 'invalid_payload' | 'internal_error';
}

/** The error a namespace middleware hands to `next` to refuse a connection. */
export function refuseConnection(message: string, code: ConnectErrorData['code']): ExtendedError {
  const error: ExtendedError = new Error(message);
  error.data = { code } satisfies ConnectErrorData;
  return error;
}

/**
 * Runs `authenticate` on a handshake: the validated principal, or the refusal to hand to `next`
 * (`unauthorized` for null or a 401 error; `internal_error`, reported to `onError`, for any
 * other failure or an invalid principal). For integrations that guard a namespace of their own
 * the way `attachCallTrack` does.
 */
export async function authenticateHandshake(
  socket: Socket,
  authenticate: AuthenticateSocket,
  onError: (error: unknown) => void,
): Promise<{ principal: Principal } | { refusal: ExtendedError }> {
  let principal: Principal | null | undefined;
  try {
    principal = await authenticate(socket.handshake, socket);
  } catch (error) {
    if (CallTrackError.isInstance(error) && error.status === 401) {
      return { refusal: refuseConnection(error.message, 'unauthorized') };
    }
    onError(error);
    return { refusal: refuseConnection('Authentication failed', 'internal_error') };
  }
  if (principal == null) return { refusal: refuseConnection('Unauthorized', 'unauthorized') };
  const parsed = principalSchema.safeParse(principal);
  if (!parsed.success) {
    onError(new Error(`authenticate returned an invalid principal: ${formatIssues(parsed.error)}`));
    return { refusal: refuseConnection('Authentication failed', 'internal_error') };
  }
  return { principal: parsed.data as Principal };
}
