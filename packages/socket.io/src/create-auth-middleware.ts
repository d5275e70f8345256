import type { Principal } from '@calltrack/core';
import type { ExtendedError, Socket } from 'socket.io';
import {
  type AuthenticateSocket,
  authenticateHandshake,
  refuseConnection,
} from './authenticate-handshake';
import type { ReportError } from './call-track-socket-error-info';
import {
  formatIssues,
  type HandshakeResume,
  handshakeResumeSchema,
} from './client-payload-schemas';
import { refuseForeignOrigin } from './refuse-foreign-origin';

/** Options of {@link createAuthMiddleware}. */
export interface AuthMiddlewareOptions {
  authenticate: AuthenticateSocket;
  /** Must not throw. */
  onError: ReportError;
  /** Most entries of `auth.calls`. */
  maxFollowedCalls: number;
  /** Where the middleware leaves each accepted connection's resume request for `connection`. */
  resumeRequests: WeakMap<Socket, HandshakeResume>;
  /** The only origins whose pages may connect (see `refuseForeignOrigin`); undefined: any. */
  allowedOrigins?: ReadonlySet<string>;
}

/**
 * A namespace middleware that checks each handshake's origin (with `allowedOrigins`), runs
 * `authenticate` on it, and refuses the connection with an `Error` whose `data.code` says why. On success the validated principal lands on
 * `socket.data.calltrack`, and a resume request (`auth.lastCursor`…) in `resumeRequests`.
 */
export function createAuthMiddleware(
  options: AuthMiddlewareOptions,
): (socket: Socket, next: (error?: ExtendedError) => void) => void {
  const { authenticate, onError, resumeRequests, allowedOrigins } = options;
  const resumeSchema = handshakeResumeSchema(options.maxFollowedCalls);
  return (socket, next) => {
    // Before the credentials are looked at: a foreign page's handshake carries the user's cookie.
    const foreign = allowedOrigins && refuseForeignOrigin(socket, allowedOrigins);
    if (foreign) {
      next(foreign);
      return;
    }
    const run = async (): Promise<ExtendedError | undefined> => {
      const authenticated = await authenticateHandshake(socket, authenticate, (error) =>
        onError(error, { socketId: socket.id }),
      );
      if ('refusal' in authenticated) return authenticated.refusal;
      const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
      const resume = resumeSchema.safeParse({
        lastCursor: auth.lastCursor ?? undefined,
        types: auth.types ?? undefined,
        stream: auth.stream ?? undefined,
        calls: auth.calls ?? undefined,
      });
      if (!resume.success) {
        return refuseConnection(
          `Invalid handshake auth: ${formatIssues(resume.error)}`,
          'invalid_payload',
        );
      }
      // `types` and `stream` only qualify a `lastCursor`: alone they resume nothing.
      if (resume.data.lastCursor !== undefined || resume.data.calls !== undefined) {
        resumeRequests.set(socket, resume.data);
      }
      (socket.data as { calltrack?: Principal }).calltrack = authenticated.principal;
      return undefined;
    };
    run().then(next, (error: unknown) => {
      onError(error, { socketId: socket.id });
      next(refuseConnection('Authentication failed', 'internal_error'));
    });
  };
}
