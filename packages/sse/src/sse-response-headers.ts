/**
 * The headers of every stream: the SSE content type; no caching or transforming by proxies and
 * compression middleware (`no-transform`); no buffering by nginx (`X-Accel-Buffering: no`).
 */
export const sseResponseHeaders: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
});
