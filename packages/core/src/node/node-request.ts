import { readBody } from '../request-body-reader';
import type { IncomingBody } from './incoming-body';

const decoder = new TextDecoder();

/** How a {@link NodeRequest} learns that its client went away. */
export interface ClientDisconnect {
  /** True once the client has gone. */
  readonly disconnected: boolean;
  /** Registers the one callback run when the client goes. */
  onDisconnect(callback: () => void): void;
}

/** The request headers as Node parsed them: repeated headers joined with ", " (as fetch does). */
export type NodeRequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The `Request` the Node bridge hands to handlers. Its body stays on the socket until the handler
 * asks for it: `text()`, `json()`, `arrayBuffer()` … read it straight into one buffer (on Node 20 a
 * `Request` built over a web stream costs about 60 µs more per webhook), `body` gives a stream
 * that reads as it is consumed, and core's `readRequestText` reads it with a size limit. A handler
 * that refuses from the method or headers answers before a byte of the body is read. The
 * `Headers` and the abort signal are built only when asked for. It is a real `Request` subclass,
 * so `instanceof Request` and every other property behave as usual.
 * @internal
 */
export class NodeRequest extends Request {
  readonly #body: IncomingBody | undefined;
  readonly #disconnect: ClientDisconnect;
  readonly #rawHeaders: NodeRequestHeaders;
  #headers: Headers | undefined;
  #used = false;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #controller: AbortController | undefined;

  /**
   * `body` is undefined for requests without one (GET, HEAD); `bodyUsed` says it was already read
   * (by the bridge's webhook fast path, before an app callback asked for the request).
   */
  constructor(
    url: string,
    init: { method: string; headers: NodeRequestHeaders | Headers },
    body: IncomingBody | undefined,
    disconnect: ClientDisconnect,
    bodyUsed = false,
  ) {
    super(url, { method: init.method });
    if (init.headers instanceof Headers) this.#headers = init.headers;
    this.#rawHeaders = init.headers instanceof Headers ? {} : init.headers;
    this.#body = body;
    this.#disconnect = disconnect;
    this.#used = bodyUsed;
  }

  override get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#rawHeaders;
      for (const name in raw) {
        const value = raw[name];
        // HTTP/2 pseudo-headers (`:path` …) are not headers.
        if (value === undefined || name.charCodeAt(0) === 58) continue;
        headers.append(name, typeof value === 'string' ? value : value.join(', '));
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  override get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#disconnect.disconnected) controller.abort();
      else this.#disconnect.onDisconnect(() => controller.abort());
    }
    return this.#controller.signal;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.#body === undefined) return null;
    if (this.#stream === undefined) {
      if (this.#used) return null;
      this.#stream = this.#body.stream();
    }
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    return this.#used || this.#stream?.locked === true;
  }

  /** The whole body, at most `maxBytes` of it, once: a body can be read only once. */
  [readBody](maxBytes: number = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
    if (this.bodyUsed || this.#stream !== undefined) {
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    }
    this.#used = true;
    return this.#body === undefined
      ? Promise.resolve(new Uint8Array(0))
      : this.#body.read(maxBytes);
  }

  override async text(): Promise<string> {
    return decoder.decode(await this[readBody]());
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this[readBody]();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }

  override async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.headers.get('content-type') ?? '' });
  }

  override async formData(): Promise<FormData> {
    const headers = { 'content-type': this.headers.get('content-type') ?? '' };
    return await new Response(await this.arrayBuffer(), { headers }).formData();
  }

  override clone(): NodeRequest {
    if (this.bodyUsed) throw new TypeError('Request.clone: Body has already been consumed.');
    const init = { method: this.method, headers: new Headers(this.headers) };
    return new NodeRequest(this.url, init, this.#body, this.#disconnect);
  }
}
