import { InvalidArgumentError } from '@calltrack/core';
import { parseAllowedOrigins } from '@calltrack/core/internal';
import { TRPCError } from '@trpc/server';

/**
 * What `requestOf(ctx)` returns: the request the context was made for, a Fetch `Request`
 * (`fetchRequestHandler`) or a Node `IncomingMessage` (`createHTTPHandler`, Express, the
 * WebSocket adapter's upgrade request). Only its `Origin` header is read.
 */
export interface RequestWithHeaders {
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
}

/**
 * The check `allowedOrigins` asks for, or undefined without it: it throws `FORBIDDEN` for a
 * request whose `Origin` names an origin the list does not hold (or is `null`), and lets a
 * request without `Origin` through. Throws `InvalidArgumentError` (its message starting with
 * `createdBy`) for an entry that is not an origin, or for `allowedOrigins` without `requestOf`:
 * without the request there is no `Origin` to read, and a check that passed everything would
 * fail silently.
 */
export function createOriginCheck<TContext>(
  createdBy: string,
  allowedOrigins: readonly string[] | undefined,
  requestOf: ((ctx: TContext) => RequestWithHeaders | null | undefined) | undefined,
): ((ctx: TContext) => void) | undefined {
  const allowed = parseAllowedOrigins(createdBy, allowedOrigins);
  if (requestOf !== undefined && typeof requestOf !== 'function') {
    throw new InvalidArgumentError({
      message: `${createdBy}: requestOf must be a function: (ctx) => ctx.req.`,
    });
  }
  if (allowed === undefined) return undefined;
  if (requestOf === undefined) {
    throw new InvalidArgumentError({
      message: `${createdBy}: allowedOrigins needs requestOf(ctx), the request your context holds: (ctx) => ctx.req.`,
    });
  }
  return (ctx) => {
    const origin = originOf(requestOf(ctx));
    // No `Origin`: not another origin's `EventSource` (which always sends one), as for SSE.
    if (origin == null || allowed.has(origin)) return;
    const error = new TRPCError({
      code: 'FORBIDDEN',
      message: `Origin ${origin} may not open this stream.`,
    });
    // As for UNAUTHORIZED: the refused page has no business reading the server's call stack.
    error.stack = undefined;
    throw error;
  };
}

/** The `Origin` header of a Fetch or Node request (repeated ones joined, as `Headers` does). */
function originOf(request: RequestWithHeaders | null | undefined): string | null | undefined {
  const headers = request?.headers;
  if (headers == null || typeof headers !== 'object') {
    // Failing open here would let every page through; fail the call instead.
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message:
        'allowedOrigins: requestOf(ctx) returned no request with headers; put the request into your context.',
    });
  }
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get('origin');
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)
    .origin;
  return typeof value === 'string' ? value : value?.join(', ');
}
