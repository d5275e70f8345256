import type { ServerResponse } from 'node:http';

/**
 * The key under which a `Response` offers to write its body straight to a Node `ServerResponse`
 * (see decision 0036). `Symbol.for`, so a package can offer it without importing
 * `@calltrack/core/node` (the SSE fetch handler also runs on edge runtimes), and across copies
 * of core.
 *
 * The offer is a method: `response[key]()` returns a {@link NodeBodyWriter} and gives up the
 * body to it (called once; undefined when the body was already read as a web stream). The
 * response stays a complete `Response` everywhere else: Next.js, Deno or a `fetch` consumer read
 * its `body` stream as usual.
 */
const nodeBodyWriterKey = Symbol.for('calltrack.node-body-writer.v1');

/** Headers HTTP/2 forbids (they belong to an HTTP/1.1 connection). */
const connectionHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Writes a body to a `ServerResponse` whose status and headers are set, and owns it from then
 * on: it writes, follows backpressure, ends the response, and stops when the client leaves
 * (`close`).
 */
export type NodeBodyWriter = (outgoing: ServerResponse) => void;

/**
 * The writer a response offers for its body (taking the body), or undefined for any other
 * response. A long-lived stream written this way needs no web `ReadableStream`, reader and
 * promise per chunk: an SSE connection costs about what a bare `node:http` response costs.
 */
export function takeNodeBodyWriter(response: Response): NodeBodyWriter | undefined {
  const take = (response as unknown as Record<symbol, unknown>)[nodeBodyWriterKey];
  if (typeof take !== 'function') return undefined;
  const writer: unknown = take.call(response);
  return typeof writer === 'function' ? (writer as NodeBodyWriter) : undefined;
}

/** Sends status and headers, then hands the response to the body's own writer. */
export function sendToNodeBodyWriter(
  outgoing: ServerResponse,
  response: Response,
  writeBody: NodeBodyWriter,
  closeConnection: boolean,
): void {
  const http1 = outgoing.req.httpVersionMajor === 1;
  // Iterated, not `Object.fromEntries`: several `Set-Cookie` headers stay several.
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers) {
    if (!http1 && connectionHeaders.has(name)) continue;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else headers[name] = [previous, value];
  }
  if (closeConnection && http1) headers.connection = 'close';
  // One `writeHead` with every header, not `setHeader` each: the response then keeps only the
  // header text, not a header table, for as long as the stream lives.
  if (http1 && response.statusText)
    outgoing.writeHead(response.status, response.statusText, headers);
  // HTTP/2 has no status message (and warns when given one).
  else outgoing.writeHead(response.status, headers);
  writeBody(outgoing);
}
