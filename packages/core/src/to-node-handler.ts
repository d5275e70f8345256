import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHeaders, createRequest, sendResponse } from '@remix-run/node-fetch-server';
import { BufferedRequest, type ClientDisconnect } from './buffered-request';
import { type BufferedResponseParts, takeBufferedResponse } from './buffered-response';
import type { FetchHandler } from './fetch-handler';
import { toErrorResponse } from './to-error-response';

/** Options of {@link toNodeHandler}. */
export interface ToNodeHandlerOptions {
  /**
   * Host (with port) to build the request URL with, instead of the `Host` header. Set it to the
   * public host when the app sits behind a proxy and URLs are signed (Twilio).
   */
  host?: string;
  /** Protocol to build the request URL with, e.g. `https:`; defaults to the socket's. */
  protocol?: string;
  /**
   * Trust `X-Forwarded-Proto` / `X-Forwarded-Host` / `Forwarded` for the request URL. Off by
   * default: anyone can send those headers unless a proxy you run overwrites them.
   */
  trustProxy?: boolean;
  /**
   * Bodies that declare a `Content-Length` up to this many bytes are read from the socket before
   * the handler runs, which is cheaper than handing it a stream (webhooks are a few KB). Larger
   * or chunked bodies stream. Default 1 MiB; handlers still apply their own limits.
   */
  bufferBodyBytes?: number;
}

/** A `node:http` request listener that is also valid Express middleware. */
export type NodeHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** What Express (or another framework) may have attached to the request. */
interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
  /** Set by body-parser 1.x (Express 4) once it consumed the stream. */
  _body?: boolean;
}

/** True when a body parser (Express 4 or 5) already read the request stream to its end. */
function bodyWasConsumed(request: FrameworkRequest): boolean {
  return request._body === true || request.readableEnded;
}

/**
 * Runs a fetch handler (`(Request) => Response`) as a `node:http` listener or Express
 * middleware: `app.post('/webhooks/twilio', toNodeHandler(handler))`. Response bodies stream, and
 * the request's `signal` aborts when the client goes away.
 *
 * Signatures are computed over the raw body, so mount webhook handlers before `express.json()` /
 * `express.urlencoded()`, or give them `express.raw({ type: '*\/*' })`, whose Buffer is used as is.
 */
export function toNodeHandler(
  handler: FetchHandler,
  options: ToNodeHandlerOptions = {},
): NodeHandler {
  const requestOptions = {
    host: options.host,
    protocol: options.protocol,
    trustProxy: options.trustProxy ?? false,
  };
  const bufferBodyBytes = options.bufferBodyBytes ?? 1024 * 1024;
  return async (incoming, outgoing, next) => {
    const frameworkRequest = incoming as FrameworkRequest;
    // Express rewrites `url` relative to the mount point; signatures cover the full path.
    if (typeof frameworkRequest.originalUrl === 'string') {
      frameworkRequest.url = frameworkRequest.originalUrl;
    }
    let response: Response;
    try {
      let request: Request;
      if (bodyWasConsumed(frameworkRequest)) {
        request = requestFromParsedBody(frameworkRequest, outgoing, requestOptions);
      } else if (!requestOptions.trustProxy && isSmallBody(incoming, bufferBodyBytes)) {
        const body = await readIncomingBody(incoming);
        request = requestWithBody(incoming, outgoing, requestUrl(incoming, requestOptions), body);
      } else {
        request = createRequest(incoming, outgoing, requestOptions);
      }
      response = await handler(request, { clientAddress: incoming.socket.remoteAddress });
    } catch (error) {
      if (next) {
        next(error);
        return;
      }
      response = toErrorResponse(error);
    }
    const buffered = takeBufferedResponse(response);
    if (buffered) {
      sendBufferedResponse(incoming, outgoing, buffered);
      return;
    }
    try {
      await sendResponse(outgoing, response);
    } catch {
      // The client went away while the body was streaming; nothing is left to tell it.
      outgoing.destroy();
    }
  };
}

function requestFromParsedBody(
  incoming: FrameworkRequest,
  outgoing: ServerResponse,
  options: { host?: string; protocol?: string; trustProxy: boolean },
): Request {
  const body = incoming.body;
  if (!(typeof body === 'string' || body instanceof Uint8Array)) {
    throw new Error(
      'calltrack: the request body was already parsed by another middleware (express.json() or ' +
        'express.urlencoded()), so the raw bytes a signature covers are gone. Mount calltrack ' +
        "handlers before those parsers, or use express.raw({ type: '*/*' }) on their routes.",
    );
  }
  const url = options.trustProxy
    ? createRequest(incoming, outgoing, options).url // forwarded-header parsing lives there
    : requestUrl(incoming, options);
  return requestWithBody(
    incoming,
    outgoing,
    url,
    typeof body === 'string' ? body : new Uint8Array(body),
  );
}

/** True for a request with a body whose declared length is at most `limit`. */
function isSmallBody(incoming: IncomingMessage, limit: number): boolean {
  const declared = incoming.headers['content-length'];
  if (declared === undefined || incoming.method === 'GET' || incoming.method === 'HEAD')
    return false;
  const length = Number(declared);
  return Number.isInteger(length) && length <= limit;
}

/** The request URL from the socket and `Host`, as createRequest builds it without trustProxy. */
function requestUrl(
  incoming: IncomingMessage,
  options: { host?: string; protocol?: string },
): string {
  const encrypted = (incoming.socket as { encrypted?: boolean }).encrypted === true;
  const protocol = options.protocol ?? (encrypted ? 'https:' : 'http:');
  const host = options.host ?? incoming.headers.host ?? 'localhost';
  return `${protocol}//${host}${incoming.url ?? '/'}`;
}

/** Reads a request body from the socket into one buffer. */
function readIncomingBody(incoming: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    incoming.once('error', reject);
    incoming.once('aborted', () => reject(new Error('The client aborted the request.')));
  });
}

/** A Request whose body is already in memory; its signal aborts when the client goes away. */
function requestWithBody(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  url: string,
  body: string | Uint8Array,
): Request {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const init = { method: incoming.method ?? 'POST', headers: createHeaders(incoming) };
  return new BufferedRequest(url, init, bytes, clientDisconnect(outgoing));
}

/** Tells when the client went away before the response was complete. */
function clientDisconnect(outgoing: ServerResponse): ClientDisconnect {
  let disconnected = false;
  let callback: (() => void) | undefined;
  outgoing.once('close', () => {
    if (outgoing.writableFinished) return;
    disconnected = true;
    callback?.();
  });
  return {
    get disconnected() {
      return disconnected;
    },
    onDisconnect(run) {
      callback = run;
    },
  };
}

/** Writes status, headers and body with one `end()`: Node sends them in a single write. */
function sendBufferedResponse(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  { status, headers, text }: BufferedResponseParts,
): void {
  const hasBody = incoming.method !== 'HEAD' && status !== 204 && status !== 304;
  outgoing.statusCode = status;
  for (const name of Object.keys(headers)) outgoing.setHeader(name, headers[name]!);
  if (hasBody) outgoing.setHeader('content-length', Buffer.byteLength(text));
  outgoing.end(hasBody ? text : undefined);
}
