import {
  isEventStream,
  resolveRetryMs,
  type SseRetryOptions,
  sseRetryFrame,
} from './sse-retry-frame';

/**
 * What {@link withNodeSseRetry} needs of a response: a Node `ServerResponse` (or Express's, or an
 * HTTP/2 compatibility response). Spelled out here so that the package's types need no
 * `@types/node` in browser code that imports your router's type.
 */
export interface NodeSseResponse {
  write(chunk: string, ...rest: never[]): boolean;
  getHeader(name: string): unknown;
}

/**
 * Wraps a Node request listener or Express middleware that serves tRPC (`createHTTPHandler`,
 * `createExpressMiddleware`, `createNextApiHandler`) so that every subscription stream starts
 * with a `retry:` line: a dropped `httpSubscriptionLink` then reconnects and resumes within
 * `retryMs` (default 1 s) instead of the browser's default of about 3 s. tRPC itself never
 * sends `retry:`. Other responses pass through untouched.
 *
 * ```ts
 * const options = { router: appRouter, createContext };
 * app.use('/trpc', withNodeSseRetry(createExpressMiddleware(options)));
 * // or: http.createServer(withNodeSseRetry(createHTTPHandler(options)))
 * ```
 *
 * It looks at the response's first write: when its `Content-Type` is `text/event-stream`, the
 * `retry:` line goes out just before it.
 */
export function withNodeSseRetry<
  TRequest,
  TResponse extends NodeSseResponse,
  TRest extends unknown[],
  TResult,
>(
  listener: (request: TRequest, response: TResponse, ...rest: TRest) => TResult,
  options?: SseRetryOptions,
): (request: TRequest, response: TResponse, ...rest: TRest) => TResult {
  const retryMs = resolveRetryMs(options, 'withNodeSseRetry');
  return (request, response, ...rest) => {
    const target = response as unknown as { write: (...args: unknown[]) => boolean };
    const hadOwnWrite = Object.hasOwn(target, 'write');
    const write = target.write;
    target.write = (...args: unknown[]): boolean => {
      if (hadOwnWrite) target.write = write;
      else delete (target as { write?: unknown }).write;
      if (isEventStream(response.getHeader('content-type'))) {
        write.call(target, sseRetryFrame(retryMs));
      }
      return write.apply(target, args);
    };
    return listener(request, response, ...rest);
  };
}
