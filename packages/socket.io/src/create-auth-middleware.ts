import { CallTrackError } from '@calltrack/core';
import type { ExtendedError, Socket } from 'socket.io';
import { formatIssues, handshakeResumeSchema } from './client-payload-schemas';
import { type SocketPrincipal, socketPrincipalSchema } from './socket-principal';

/**
 * The app's check of a connection: verify the credentials in the handshake (for example a JWT
 * in `handshake.auth.token`, or a session cookie in `handshake.headers.cookie`) and return who
 * it is, or null to refuse it. The tenant must come from the verified credentials, never from
 * something else the client sent.
 */
export type AuthenticateSocket = (
  handshake: Socket['handshake'],
  socket: Socket,
) => SocketPrincipal | null | undefined | Promise<SocketPrincipal | null | undefined>;

/** Data a refused connection's `connect_error` carries in `error.data`. */
export interface ConnectErrorData {
  /** `unauthorized`, `invalid_payload` (a malformed `auth.lastCursor` / `auth.types`) or `internal_error`. */
  code: 'unauthorized' | 'invalid_payload' | 'internal_error';
}

/** What the middleware leaves on `socket.data.calltrack`. */
export interface SocketCallTrackData extends SocketPrincipal {
  /** `auth.lastCursor`, when the client asked to resume. */
  lastCursor?: string;
  /** `auth.types`. */
  types?: string[];
}

function refuse(message: string, code: ConnectErrorData['code']): ExtendedError {
  const error: ExtendedError = new Error(message);
  error.data = { code } satisfies ConnectErrorData;
  return error;
}

/**
 * A namespace middleware that runs `authenticate` on each handshake and refuses the connection
 * with an `Error` whose `data.code` says why. On success the principal (and a resume request)
 * lands on `socket.data.calltrack`.
 */
export function createAuthMiddleware(
  authenticate: AuthenticateSocket,
  onError: (error: unknown) => void,
): (socket: Socket, next: (error?: ExtendedError) => void) => void {
  return (socket, next) => {
    const run = async (): Promise<ExtendedError | undefined> => {
      let principal: SocketPrincipal | null | undefined;
      try {
        principal = await authenticate(socket.handshake, socket);
      } catch (error) {
        if (CallTrackError.isInstance(error) && error.status === 401) {
          return refuse(error.message, 'unauthorized');
        }
        onError(error);
        return refuse('Authentication failed', 'internal_error');
      }
      if (principal == null) return refuse('Unauthorized', 'unauthorized');
      const parsed = socketPrincipalSchema.safeParse(principal);
      if (!parsed.success) {
        onError(
          new Error(`authenticate returned an invalid principal: ${formatIssues(parsed.error)}`),
        );
        return refuse('Authentication failed', 'internal_error');
      }
      const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
      const resume = handshakeResumeSchema.safeParse({
        lastCursor: auth.lastCursor ?? undefined,
        types: auth.types ?? undefined,
      });
      if (!resume.success) {
        return refuse(`Invalid handshake auth: ${formatIssues(resume.error)}`, 'invalid_payload');
      }
      // One object literal per shape keeps the principal in-object (no extra property array).
      const { tenantId, userId } = parsed.data;
      const { lastCursor, types } = resume.data;
      const data: SocketCallTrackData = userId === undefined ? { tenantId } : { tenantId, userId };
      if (lastCursor !== undefined) data.lastCursor = lastCursor;
      if (types !== undefined) data.types = types;
      (socket.data as { calltrack?: SocketCallTrackData }).calltrack = data;
      return undefined;
    };
    run().then(next, (error: unknown) => {
      onError(error);
      next(refuse('Authentication failed', 'internal_error'));
    });
  };
}
