import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isEventStream,
  resolveRetryMs,
  type SseRetryOptions,
  sseRetryFrame,
} from './sse-retry-frame';

/**
 * Wraps a Node request listener or Express middleware that serves tRPC (`createHTTPHandler`,
 * `createExpressMiddleware`, `createNextApiHandler`) so that every subscription stream starts
 * with a `retry:` line: a dropped `httpSubscriptionLink` then reconnects and resumes within
 * `retryMs` (default 1 s) instead of the browser's default of about 3 s. tRPC itself never
 * sends `retry:`. Other responses pass through untouched.
 *
 * ```ts
 * app.use('/trpc', withNodeSseRetry(createExpressMiddleware({ router: appRouter, createContext })));
 * // or: http.createServer(withNodeSseRetry(createHTTPHandler({ router: appRouter, createContext })))
 * ```
 *
 * It looks at the response's first write: when its `Content-Type` is `text/event-stream`, the
 * `retry:` line goes out just before it.
 */
export function withNodeSseRetry<
  TRequest extends IncomingMessage,
  TResponse extends ServerResponse,
  TRest extends unknown[],
  TResult,
>(
  listener: (request: TRequest, response: TResponse, ...rest: TRest) => TResult,
  options?: SseRetryOptions,
): (request: TRequest, response: TResponse, ...rest: TRest) => TResult {
  const retryMs = resolveRetryMs(options, 'withNodeSseRetry');
  return (request, response, ...rest) => {
    const hadOwnWrite = Object.hasOwn(response, 'write');
    const write = response.write;
    response.write = function firstWrite(this: TResponse, ...args: Parameters<typeof write>) {
      if (hadOwnWrite) response.write = write;
      else delete (response as { write?: unknown }).write;
      if (isEventStream(response.getHeader('content-type'))) {
        (write as (chunk: string) => boolean).call(response, sseRetryFrame(retryMs));
      }
      return write.apply(response, args);
    } as typeof write;
    return listener(request, response, ...rest);
  };
}
