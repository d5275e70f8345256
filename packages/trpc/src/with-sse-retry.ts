import {
  isEventStream,
  resolveRetryMs,
  type SseRetryOptions,
  sseRetryFrame,
} from './sse-retry-frame';

const encoder = new TextEncoder();

/**
 * Wraps a fetch handler that serves tRPC (`fetchRequestHandler` in a Next.js route handler,
 * Hono, Bun…) so that every subscription stream starts with a `retry:` line: a dropped
 * `httpSubscriptionLink` then reconnects and resumes within `retryMs` (default 1 s) instead of
 * the browser's default of about 3 s. tRPC itself never sends `retry:`. Other responses pass
 * through untouched.
 *
 * ```ts
 * const handler = withSseRetry((req: Request) =>
 *   fetchRequestHandler({ endpoint: '/api/trpc', req, router: appRouter, createContext }),
 * );
 * export { handler as GET, handler as POST };
 * ```
 */
export function withSseRetry<TRest extends unknown[]>(
  handler: (request: Request, ...rest: TRest) => Response | Promise<Response>,
  options?: SseRetryOptions,
): (request: Request, ...rest: TRest) => Promise<Response> {
  const retryMs = resolveRetryMs(options, 'withSseRetry');
  return async (request, ...rest) => {
    const response = await handler(request, ...rest);
    const { body } = response;
    if (body === null || !isEventStream(response.headers.get('content-type'))) return response;
    return new Response(withPrefix(body, encoder.encode(sseRetryFrame(retryMs))), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** `body` with `prefix` first; reads `body` only as fast as it is read, cancels it with itself. */
function withPrefix(
  body: ReadableStream<Uint8Array>,
  prefix: Uint8Array,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let sent = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(prefix);
          return;
        }
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
