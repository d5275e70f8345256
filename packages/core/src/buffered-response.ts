import { singleChunkStream } from './single-chunk-stream';

const bufferedResponse = Symbol.for('calltrack.bufferedResponse');
const encoder = new TextEncoder();
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

/** What the Node bridge needs to write a {@link BufferedResponse} in one go. */
export interface BufferedResponseParts {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  text: string;
}

/**
 * A `Response` whose body is a string already in memory. On Node 20 `Response.json()` builds a
 * web stream for its body, and the Node bridge then reads that stream chunk by chunk: about a
 * fifth of a webhook's cost. This one keeps the text and builds a stream, or a `Headers` object,
 * only when someone asks for them, so `toNodeHandler` can write status, headers and body with
 * one `end()`. It is a real `Response` subclass: anywhere else (Next.js, Hono, tests) it behaves
 * like any other.
 * @internal
 */
export class BufferedResponse extends Response {
  readonly #text: string;
  readonly #headerRecord: Record<string, string>;
  #headers: Headers | undefined;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #used = false;

  constructor(text: string, status: number, headers: Record<string, string>) {
    super(null, { status });
    // A 204, 205 or 304 has no body, whatever was given.
    this.#text = nullBodyStatuses.has(status) ? '' : text;
    this.#headerRecord = headers;
  }

  override get headers(): Headers {
    this.#headers ??= new Headers(this.#headerRecord);
    return this.#headers;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (nullBodyStatuses.has(this.status)) return null;
    this.#stream ??= singleChunkStream(encoder.encode(this.#text));
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    return this.#used || this.#stream?.locked === true;
  }

  /** Status, headers and text, once: a body can be read only once, as with any Response. */
  [bufferedResponse](): BufferedResponseParts {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    let headers = this.#headerRecord;
    if (this.#headers) {
      // Someone read (and may have changed) the headers: send what they hold now.
      headers = {};
      for (const [name, value] of this.#headers) headers[name] = value;
    }
    return { status: this.status, headers, text: this.#text };
  }

  override async text(): Promise<string> {
    return this[bufferedResponse]().text;
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    return encoder.encode(await this.text()).buffer as ArrayBuffer;
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }

  override async blob(): Promise<Blob> {
    const type = this.headers.get('content-type') ?? '';
    return new Blob([await this.text()], { type });
  }

  override async formData(): Promise<FormData> {
    const headers = { 'content-type': this.headers.get('content-type') ?? '' };
    return await new Response(await this.text(), { headers }).formData();
  }

  override clone(): BufferedResponse {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    const headers: Record<string, string> = {};
    for (const [name, value] of this.headers) headers[name] = value;
    return new BufferedResponse(this.#text, this.status, headers);
  }
}

/**
 * Status, headers and text of a {@link BufferedResponse} (marking its body used), or undefined for
 * any other response. Works across copies of this package through a shared symbol.
 * @internal
 */
export function takeBufferedResponse(response: Response): BufferedResponseParts | undefined {
  const take = (response as unknown as Record<symbol, unknown>)[bufferedResponse];
  return typeof take === 'function'
    ? (take as () => BufferedResponseParts).call(response)
    : undefined;
}
