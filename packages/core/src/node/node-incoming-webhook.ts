import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { IncomingWebhook, IncomingWebhookAnswer } from '../incoming-webhook';
import { decodeRequestText, readRequestText } from '../read-request-text';
import type { IncomingBody } from './incoming-body';
import { type ClientDisconnect, NodeRequest } from './node-request';
import { type NodeRequestUrlOptions, nodeClientAddress, nodeRequestHref } from './node-request-url';

/**
 * A Node request as an {@link IncomingWebhook}: headers read straight from `IncomingMessage`, the
 * body read from the socket into one buffer only when the handler asks for it (so a refusal from
 * the headers never waits for it), and no `Request` unless an app callback asks for `request`.
 * A `Request` costs several microseconds to build on Node 20: a sizeable part of a webhook.
 * @internal
 */
export class NodeIncomingWebhook implements IncomingWebhook {
  readonly method: string;
  readonly #incoming: IncomingMessage;
  readonly #urlOptions: NodeRequestUrlOptions;
  readonly #body: IncomingBody | undefined;
  readonly #disconnect: ClientDisconnect;
  #url: string | undefined;
  #request: NodeRequest | undefined;
  #bodyRead = false;

  /** `body` is undefined for requests without one (GET, HEAD). */
  constructor(
    incoming: IncomingMessage,
    urlOptions: NodeRequestUrlOptions,
    body: IncomingBody | undefined,
    disconnect: ClientDisconnect,
  ) {
    this.method = incoming.method ?? 'GET';
    this.#incoming = incoming;
    this.#urlOptions = urlOptions;
    this.#body = body;
    this.#disconnect = disconnect;
  }

  /** The URL as `toNodeHandler` builds it for a `Request` (parse it with `new URL`). */
  get url(): string {
    this.#url ??= nodeRequestHref(this.#incoming, this.#urlOptions);
    return this.#url;
  }

  get clientAddress(): string | undefined {
    return nodeClientAddress(this.#incoming, this.#urlOptions);
  }

  header(name: string): string | undefined {
    const value = this.#incoming.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  readText(maxBytes: number): Promise<string> {
    // Once the app has the Request, the body is read through it: it is read only once.
    if (this.#request !== undefined) return readRequestText(this.#request, { maxBytes });
    if (this.#body === undefined) return Promise.resolve('');
    this.#bodyRead = true;
    return this.#body.read(maxBytes).then(decodeRequestText);
  }

  get request(): Request {
    this.#request ??= new NodeRequest(
      this.url,
      { method: this.method, headers: this.#incoming.headers },
      this.#body,
      this.#disconnect,
      this.#bodyRead,
    );
    return this.#request;
  }
}

/**
 * Writes an {@link IncomingWebhookAnswer} (or a `BufferedResponse`'s parts: the same shape) in one
 * write to the socket: status line, headers and body. Headers a framework set before are kept.
 * `closeConnection` when the body was left unread.
 * @internal
 */
export function sendIncomingWebhookAnswer(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  { status, headers, text }: IncomingWebhookAnswer,
  closeConnection: boolean,
): void {
  const hasBody = incoming.method !== 'HEAD' && status !== 204 && status !== 304;
  const head: OutgoingHttpHeaders = { ...headers };
  if (hasBody) head['content-length'] = Buffer.byteLength(text);
  if (closeConnection) head.connection = 'close';
  outgoing.writeHead(status, head);
  if (!hasBody) {
    // The head alone: `end()` sends it in one write.
    outgoing.end();
    return;
  }
  // `end(text)` corks the socket, writes head and body as one chunk and then an empty chunk, so
  // the socket sends two chunks with `writev` (which allocates a buffer to join them). `write`
  // corks too (until the next tick); uncorking at once sends head and body in one write, and
  // `end()` finds nothing left to send.
  const corked = (outgoing.socket?.writableCorked ?? 0) > 0;
  outgoing.write(text);
  if (!corked) outgoing.uncork();
  outgoing.end();
}
