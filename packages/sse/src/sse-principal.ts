/** Who a stream belongs to: what `authenticate` returns for a valid request. */
export interface SsePrincipal {
  /** The only tenant whose events the stream carries. Never taken from the query. */
  tenantId: string;
  /** The user, for your own logging (`onOpen` / `onClose`); the handler does not use it. */
  userId?: string;
  /** Anything else your app knows (roles, session id); passed through to the hooks. */
  [key: string]: unknown;
}

/**
 * Resolves the caller from the request (a session cookie, a bearer token, a token in the query…).
 * Return null or undefined for missing or bad credentials: answered 401. Throw a
 * `CallTrackError` to answer with its status.
 */
export type SseAuthenticate = (
  request: Request,
) => SsePrincipal | null | undefined | Promise<SsePrincipal | null | undefined>;
