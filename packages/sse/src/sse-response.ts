import type { ServerResponse } from 'node:http';
import { startNodeSseSink } from './node-sse-sink';
import { sseResponseHeaders } from './sse-response-headers';
import type { SseSession } from './sse-session';
import { WebSseSink } from './web-sse-sink';

/**
 * Where `toNodeHandler` (`@calltrack/core/node`) looks for a response's own Node writer (decision
 * 0036). The same `Symbol.for` key as there; not imported, because this fetch handler also runs
 * where `node:http` does not (edge runtimes).
 */
const nodeBodyWriterKey: unique symbol = Symbol.for('calltrack.node-body-writer.v1');

/**
 * The fetch handler's 200: a plain `Response` whose body is the stream's `ReadableStream`, for
 * Next.js, Deno, Bun or any `fetch` consumer. Behind calltrack's Node bridge it offers a writer
 * instead, and the session writes its frames straight to the `ServerResponse`, as
 * `createSseNodeHandler` does: no reader, no promise per frame, and no web stream kept per
 * connection.
 * @internal
 */
export class SseResponse extends Response {
  readonly #source: WebSseSink;
  readonly #stream: ReadableStream<Uint8Array>;

  constructor(session: SseSession) {
    const source = new WebSseSink(session);
    // High-water mark 0: the session starts on the first read, so the bridge can take it first.
    const stream = new ReadableStream(source, { highWaterMark: 0 });
    super(stream, { status: 200, headers: sseResponseHeaders });
    this.#source = source;
    this.#stream = stream;
  }

  /**
   * The Node bridge's writer, once, unless the body has a reader already (it was read, or
   * `clone()` tee'd it): then the bridge streams the body like any other.
   */
  [nodeBodyWriterKey](): ((outgoing: ServerResponse) => void) | undefined {
    if (this.#stream.locked) return undefined;
    const session = this.#source.takeSession();
    if (session === undefined) return undefined;
    return (outgoing) => startNodeSseSink(session, outgoing);
  }
}
