import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHeaders, createRequest, sendResponse } from '@remix-run/node-fetch-server';
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
  return async (incoming, outgoing, next) => {
    const frameworkRequest = incoming as FrameworkRequest;
    // Express rewrites `url` relative to the mount point; signatures cover the full path.
    if (typeof frameworkRequest.originalUrl === 'string') {
      frameworkRequest.url = frameworkRequest.originalUrl;
    }
    let response: Response;
    try {
      const request = bodyWasConsumed(frameworkRequest)
        ? requestFromParsedBody(frameworkRequest, outgoing, requestOptions)
        : createRequest(incoming, outgoing, requestOptions);
      response = await handler(request, { clientAddress: incoming.socket.remoteAddress });
    } catch (error) {
      if (next) {
        next(error);
        return;
      }
      response = toErrorResponse(error);
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
  // Build the URL exactly as createRequest would, then attach the buffered body.
  const shape = createRequest(incoming, outgoing, options);
  const controller = new AbortController();
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) controller.abort();
  });
  return new Request(shape.url, {
    method: incoming.method ?? 'POST',
    headers: createHeaders(incoming),
    body: typeof body === 'string' ? body : new Uint8Array(body),
    signal: controller.signal,
  });
}
