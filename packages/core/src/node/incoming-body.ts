import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError } from '../errors/payload-too-large-error';

const empty = new Uint8Array(0);

/**
 * The body of a Node request, read from the socket only when a handler asks for it: a handler that
 * refuses a request from its method or headers answers at once and never waits for (or holds) the
 * body. Read whole into one buffer (`read`, the fast path for webhooks: no web stream), or as a
 * stream that pulls from the socket as it is consumed (`stream`). Either way only once; a second
 * `read` gets the same bytes, so clones of a request can share one body.
 * @internal
 */
export class IncomingBody {
  readonly #incoming: IncomingMessage | undefined;
  /**
   * A body a framework read already (`express.raw()`), checked against each read's limit; or
   * what makes its bytes, for a read's limit, on the first read that succeeds (a parsed JSON
   * body, serialized only if a handler reads it; a load that throws refuses that read).
   */
  #preloaded: Uint8Array | ((maxBytes: number) => Uint8Array) | undefined;
  #bytes: Promise<Uint8Array> | undefined;
  #streamed = false;

  private constructor(
    incoming: IncomingMessage | undefined,
    bytes: Uint8Array | ((maxBytes: number) => Uint8Array) | undefined,
  ) {
    this.#incoming = incoming;
    this.#preloaded = bytes;
  }

  /** The unread body of `incoming`. */
  static fromIncoming(incoming: IncomingMessage): IncomingBody {
    return new IncomingBody(incoming, undefined);
  }

  /**
   * A body already in memory (what `express.raw()` left), or a function that makes its bytes when
   * a handler first reads it, given the read's limit, and may throw to refuse the read.
   */
  static fromBytes(bytes: Uint8Array | ((maxBytes: number) => Uint8Array)): IncomingBody {
    return new IncomingBody(undefined, bytes);
  }

  /**
   * The whole body, at most `maxBytes` of it: past that the read stops and rejects with
   * `PayloadTooLargeError`, and the rest is never buffered. A declared `Content-Length` over the
   * limit rejects before reading anything.
   */
  read(maxBytes = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
    if (typeof this.#preloaded === 'function') {
      try {
        this.#preloaded = this.#preloaded(maxBytes);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#preloaded !== undefined) {
      return this.#preloaded.byteLength > maxBytes
        ? Promise.reject(tooLarge(maxBytes))
        : Promise.resolve(this.#preloaded);
    }
    if (this.#bytes === undefined) {
      if (this.#streamed) {
        return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
      }
      this.#bytes = readIncoming(this.#incoming!, maxBytes);
    }
    return this.#bytes;
  }

  /** The body as a byte stream that reads the socket only as fast as it is consumed. */
  stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (
      this.#bytes !== undefined ||
      this.#preloaded !== undefined ||
      this.#incoming === undefined
    ) {
      const bytes = this.read();
      return new ReadableStream<Uint8Array>({
        async start(controller) {
          try {
            const value = await bytes;
            if (value.byteLength > 0) controller.enqueue(value);
            controller.close();
          } catch (error) {
            controller.error(error);
          }
        },
      }) as ReadableStream<Uint8Array<ArrayBuffer>>;
    }
    this.#streamed = true;
    return streamIncoming(this.#incoming);
  }
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError({
    message: `The request body is larger than the limit of ${maxBytes} bytes.`,
  });
}

function aborted(): Error {
  return new Error('The client aborted the request before its body was complete.');
}

function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  if (incoming.complete && incoming.readableEnded) return Promise.resolve(empty);
  if (incoming.complete && !incoming.readableFlowing) {
    // The whole body arrived with the headers (a small webhook usually does): take it from the
    // stream's buffer at once, without listeners or another turn of the event loop.
    const chunks: Buffer[] = [];
    let total = 0;
    for (let chunk = incoming.read() as Buffer | null; chunk !== null; chunk = incoming.read()) {
      total += chunk.byteLength;
      if (total > maxBytes) return Promise.reject(tooLarge(maxBytes));
      chunks.push(chunk);
    }
    // `complete`: the parser has pushed the end, so an empty buffer is the end of the body.
    if (chunks.length === 0) return Promise.resolve(empty);
    return Promise.resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (chunks.length === 0) resolve(empty);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (incoming.complete) return; // 'end' settles it
      cleanup();
      reject(aborted());
    };
    if (incoming.destroyed) {
      reject(aborted());
      return;
    }
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
    incoming.once('close', onClose);
  });
}

function streamIncoming(incoming: IncomingMessage): ReadableStream<Uint8Array<ArrayBuffer>> {
  let settled = false;
  const cleanup = () => {
    settled = true;
    incoming.off('data', onData);
    incoming.off('end', onEnd);
    incoming.off('error', onError);
    incoming.off('close', onClose);
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const onData = (chunk: Buffer) => {
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    // Back-pressure: stop taking bytes off the socket until the consumer asks for more.
    if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
  };
  const onEnd = () => {
    cleanup();
    controller.close();
  };
  const onError = (error: Error) => {
    cleanup();
    controller.error(error);
  };
  const onClose = () => {
    if (settled || incoming.complete) return;
    cleanup();
    controller.error(aborted());
  };
  return new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
      if (incoming.destroyed && !incoming.complete) {
        settled = true;
        controller.error(aborted());
        return;
      }
      incoming.on('data', onData);
      incoming.once('end', onEnd);
      incoming.once('error', onError);
      incoming.once('close', onClose);
    },
    pull() {
      if (!settled) incoming.resume();
    },
    cancel() {
      cleanup();
    },
  }) as ReadableStream<Uint8Array<ArrayBuffer>>;
}
