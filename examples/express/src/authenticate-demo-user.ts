/** Who a browser is, as the SSE stream, Socket.IO and the read API need it. */
export interface DemoPrincipal {
  tenantId: string;
  userId: string;
  [key: string]: unknown;
}

/**
 * The demo has no login: every browser is the `demo` tenant's one user.
 *
 * This is where a real app plugs in its session. The same function serves the three entry
 * points, which hand it different things:
 * - the read API and the SSE stream get the web `Request` (read the session cookie from
 *   `request.headers.get('cookie')`, or a bearer token);
 * - Socket.IO gets the handshake (`handshake.auth.token`, `handshake.headers.cookie`; with a
 *   cookie, also set `attachCallTrack`'s `allowedOrigins`, since a page of any origin can open
 *   a WebSocket that carries it).
 * Return `{ tenantId, userId }` for a valid session and null otherwise (401 / `connect_error`).
 * The tenant must come from the session, never from anything the browser sends.
 */
export function authenticateDemoUser(): DemoPrincipal {
  return { tenantId: 'demo', userId: 'demo-user' };
}
