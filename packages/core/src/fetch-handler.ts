/** What a server adapter knows about a request beyond the `Request` itself. */
export interface FetchHandlerContext {
  /** The peer's IP address as the socket saw it (forwarded headers are not consulted). */
  clientAddress?: string;
}

/**
 * A web-standard request handler: works in Next.js route handlers, Hono, Bun and Deno as it is,
 * and in Express or `node:http` through `toNodeHandler`.
 */
export type FetchHandler = (
  request: Request,
  context?: FetchHandlerContext,
) => Response | Promise<Response>;
