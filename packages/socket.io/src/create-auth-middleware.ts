import { CallTrackError, type Principal, principalSchema } from '@calltrack/core';
import type { ExtendedError, Socket } from 'socket.io';
import {
  formatIssues,
  type HandshakeResume,
  handshakeResumeSchema,
} from './client-payload-schemas';

/**
 * The app's check of a connection: verify the credentials in the handshake (for example a JWT
 * in `handshake.auth.token`, or a session cookie in `handshake.headers.cookie`) and return who
 * it is (a `Principal`), or null to refuse it. The tenant must come from the verified
 * credentials, never from something else the client sent; `allTenants: true` (every tenant's
 * events and calls) only for principals your app trusts with every tenant's data.
 */
export type AuthenticateSocket = (
  handshake: Socket['handshake'],
  socket: Socket,
) => Principal | null | undefined | Promise<Principal | null | undefined>;

/** Data a refused connection's `connect_error` carries in `error.data`. */
export interface ConnectErrorData {
  /**
   * `unauthorized`, `invalid_payload` (a malformed `auth.lastCursor`, `auth.types`, `auth.stream`
   * or `auth.calls`) or `internal_error`.
   */
  code: 'unauthorized' | 'invalid_payload' | 'internal_error';
}

/** Options of {@link createAuthMiddleware}. */
export interface AuthMiddlewareOptions {
  authenticate: AuthenticateSocket;
  /** Must not throw. */
  onError: (error: unknown) => void;
  /** Most entries of `auth.calls`. */
  maxCallSubscriptions: number;
  /** Where the middleware leaves each accepted connection's resume request for `connection`. */
  resumeRequests: WeakMap<Socket, HandshakeResume>;
}

function refuse(message: string, code: ConnectErrorData['code']): ExtendedError {
  const error: ExtendedError = new Error(message);
  error.data = { code } satisfies ConnectErrorData;
  return error;
}

/**
 * A namespace middleware that runs `authenticate` on each handshake and refuses the connection
 * with an `Error` whose `data.code` says why. On success the validated principal lands on
 * `socket.data.calltrack`, and a resume request (`auth.lastCursor`…) in `resumeRequests`.
 */
export function createAuthMiddleware(
  options: AuthMiddlewareOptions,
): (socket: Socket, next: (error?: ExtendedError) => void) => void {
  const { authenticate, onError, resumeRequests } = options;
  const resumeSchema = handshakeResumeSchema(options.maxCallSubscriptions);
  return (socket, next) => {
    const run = async (): Promise<ExtendedError | undefined> => {
      let principal: Principal | null | undefined;
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
      const parsed = principalSchema.safeParse(principal);
      if (!parsed.success) {
        onError(
          new Error(`authenticate returned an invalid principal: ${formatIssues(parsed.error)}`),
        );
        return refuse('Authentication failed', 'internal_error');
      }
      const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
      const resume = resumeSchema.safeParse({
        lastCursor: auth.lastCursor ?? undefined,
        types: auth.types ?? undefined,
        stream: auth.stream ?? undefined,
        calls: auth.calls ?? undefined,
      });
      if (!resume.success) {
        return refuse(`Invalid handshake auth: ${formatIssues(resume.error)}`, 'invalid_payload');
      }
      // `types` and `stream` only qualify a `lastCursor`: alone they resume nothing.
      if (resume.data.lastCursor !== undefined || resume.data.calls !== undefined) {
        resumeRequests.set(socket, resume.data);
      }
      (socket.data as { calltrack?: Principal }).calltrack = parsed.data as Principal;
      return undefined;
    };
    run().then(next, (error: unknown) => {
      onError(error);
      next(refuse('Authentication failed', 'internal_error'));
    });
  };
}
