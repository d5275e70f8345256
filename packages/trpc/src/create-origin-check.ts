import { InvalidArgumentError } from '@calltrack/core';
import {
  foreignRequestSender,
  parseAllowedOrigins,
  type RequestHeaders,
} from '@calltrack/core/internal';
import { TRPCError } from '@trpc/server';

/**
 * What `requestOf(ctx)` returns: the request the context was made for, a Fetch `Request`
 * (`fetchRequestHandler`) or a Node `IncomingMessage` (`createHTTPHandler`, Express, the
 * WebSocket adapter's upgrade request). Only its `Origin` and `Sec-Fetch-Site` headers are read.
 */
export interface RequestWithHeaders {
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
}

/**
 * The check `allowedOrigins` asks for, or undefined without it: it throws `FORBIDDEN` for a
 * request another origin's page sent (core's `foreignRequestSender`, the rule SSE and Socket.IO
 * keep: an `Origin` the list does not hold or `null`, or no `Origin` and a `Sec-Fetch-Site` of
 * `cross-site` or `same-site`), and lets the rest through. Throws `InvalidArgumentError` (its message starting with
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
    const foreign = foreignRequestSender(headersOf(requestOf(ctx)), allowed);
    if (foreign === undefined) return;
    const error = new TRPCError({
      code: 'FORBIDDEN',
      message: `${foreign} may not open this stream.`,
    });
    // As for UNAUTHORIZED: the refused page has no business reading the server's call stack.
    error.stack = undefined;
    throw error;
  };
}

/** The headers of a Fetch or Node request. */
function headersOf(request: RequestWithHeaders | null | undefined): RequestHeaders {
  const headers = request?.headers;
  if (headers == null || typeof headers !== 'object') {
    // Failing open here would let every page through; fail the call instead.
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message:
        'allowedOrigins: requestOf(ctx) returned no request with headers; put the request into your context.',
    });
  }
  return headers;
}
