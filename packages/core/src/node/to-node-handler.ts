import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendResponse } from '@remix-run/node-fetch-server';
import { takeBufferedResponse } from '../buffered-response';
import { UnsupportedOperationError } from '../errors/unsupported-operation-error';
import type { FetchHandler } from '../fetch-handler';
import { type IncomingWebhookAnswer, incomingWebhookHandlerOf } from '../incoming-webhook';
import { acceptsParsedJsonBody } from '../parsed-json-body';
import { toErrorResponse } from '../to-error-response';
import { bodyWasConsumed, consumedBody, type FrameworkRequest } from './consumed-body';
import { IncomingBody } from './incoming-body';
import { sendToNodeBodyWriter, takeNodeBodyWriter } from './node-body-writer';
import { NodeClientDisconnect } from './node-client-disconnect';
import { NodeIncomingWebhook, sendIncomingWebhookAnswer } from './node-incoming-webhook';
import { NodeRequest, type NodeRequestHeaders } from './node-request';
import {
  checkedUrlOrigin,
  nodeClientAddress,
  nodeRequestHref,
  type TrustProxy,
  trustedProxyHeaders,
} from './node-request-url';

/** Methods the Fetch standard forbids in a `Request` (Node parses `CONNECT` apart). */
const forbiddenMethods = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** Options of {@link toNodeHandler}. */
export interface ToNodeHandlerOptions {
  /**
   * Host (with port) to build the request URL with, instead of the `Host` header. Set it to the
   * public host when the app sits behind a proxy and URLs are signed (Twilio).
   */
  host?: string;
  /**
   * Protocol to build the request URL with, `https:` or `http:` (the colon may be left out);
   * defaults to the socket's.
   */
  protocol?: string;
  /**
   * Trust the forwarded headers of a proxy you run ({@link TrustProxy}). `true`: `X-Forwarded-Proto`
   * / `X-Forwarded-Host` for the request URL and the last `X-Forwarded-For` entry (the address
   * your proxy saw) for the client address, as nginx, AWS load balancers, Heroku and Cloudflare
   * set them; a `Forwarded` header is then the client's and ignored. `{ header: 'forwarded' }`:
   * the last element of RFC 7239 `Forwarded` instead (`proto=`, `host=`, `for=`), ignoring
   * `X-Forwarded-*`. Off by default: anyone can send those headers unless your proxy sets them.
   */
  trustProxy?: TrustProxy;
}

/** A `node:http` request listener that is also valid Express middleware. */
export type NodeHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/**
 * Runs a fetch handler (`(Request) => Response`) as a `node:http` listener or Express
 * middleware: `app.post('/webhooks/twilio', toNodeHandler(handler))`.
 *
 * The handler runs as soon as the headers have arrived; the body stays on the socket until the
 * handler reads it (`text()`, `json()`, `body`, core's `readRequestText` with a size limit), so a
 * request refused from its method or headers (no signature, wrong content type, a declared
 * length over the limit) is answered at once, and its body is never held in memory: the
 * connection of a refused request whose body was not read is closed after the answer. End slow
 * senders with the Node server's `requestTimeout` and `headersTimeout` (see the security guide).
 *
 * A method no fetch `Request` can carry (`TRACE`) is answered 501 `unsupported_operation`
 * without running the handler.
 *
 * Response bodies stream, and the request's `signal` aborts when the client goes away. Responses
 * made with core's `jsonResponse` are written in one piece, and a response that offers its own
 * Node writer (the SSE fetch handler's) writes straight to the `ServerResponse`. The calltrack
 * provider webhook handlers (`createTwilioWebhookHandler` …) run straight on Node's request
 * here, with the same checks and answers as their fetch handler, building a `Request` only if an
 * app callback reads it (see `createIncomingWebhookEndpoint`).
 *
 * Signatures are computed over the raw body, so mount webhook handlers before `express.json()` /
 * `express.urlencoded()`, or give them `express.raw({ type: '*\/*' })`, whose Buffer is used as is;
 * a body another parser already read is an error that says so (a 500). calltrack's own JSON APIs
 * (the tracker's HTTP API, the webhooks management API, the dialer's) check no signature: behind
 * `express.json()` they get the parsed body serialized again (one JSON cannot carry again, too
 * deep, out of range or over their limit, is a 4xx), and a body parsed from anything but JSON is
 * refused with 415 when read.
 */
export function toNodeHandler(
  handler: FetchHandler,
  options: ToNodeHandlerOptions = {},
): NodeHandler {
  const urlOptions = {
    ...checkedUrlOrigin(options, 'toNodeHandler'),
    trustProxy: options.trustProxy ?? false,
  };
  // A misspelled trustProxy fails at startup, not on the first request.
  trustedProxyHeaders(urlOptions.trustProxy, 'toNodeHandler');
  // A provider webhook handler (createTwilioWebhookHandler …) runs straight on Node's request.
  const incomingWebhookHandler = incomingWebhookHandlerOf(handler);
  // A JSON API that checks no signature (the tracker's) may take a body express.json() parsed.
  const acceptsParsedJson = incomingWebhookHandler === undefined && acceptsParsedJsonBody(handler);
  return async (incoming, outgoing, next) => {
    const frameworkRequest = incoming as FrameworkRequest;
    let body: IncomingBody | undefined;
    let response: Response | IncomingWebhookAnswer;
    try {
      const method = incoming.method ?? 'GET';
      let headers: NodeRequestHeaders = incoming.headers;
      if (bodyWasConsumed(frameworkRequest)) {
        ({ body, headers } = consumedBody(frameworkRequest, acceptsParsedJson));
      } else if (method !== 'GET' && method !== 'HEAD') {
        body = IncomingBody.fromIncoming(incoming);
      }
      if (incomingWebhookHandler !== undefined) {
        const disconnect = new NodeClientDisconnect(outgoing);
        response = await incomingWebhookHandler(
          new NodeIncomingWebhook(incoming, urlOptions, body, disconnect),
        );
      } else {
        if (forbiddenMethods.has(method.toUpperCase())) {
          // `new Request()` throws for these: a 500 for a method the client chose.
          throw new UnsupportedOperationError({
            message: `${method} requests cannot be handled here.`,
          });
        }
        const request = new NodeRequest(
          nodeRequestHref(incoming, urlOptions),
          { method, headers },
          body,
          new NodeClientDisconnect(outgoing),
        );
        response = await handler(request, {
          clientAddress: nodeClientAddress(incoming, urlOptions),
        });
      }
    } catch (error) {
      if (next) {
        next(error);
        return;
      }
      response = toErrorResponse(error);
    }
    // The handler answered before the body arrived in full (a refusal, or a read stopped at its
    // limit): close the connection after the answer instead of reading, say, a megabyte nobody
    // wants. Whatever the method: a GET may declare a body too.
    const unread = !incoming.complete;
    if (!(response instanceof Response)) {
      sendIncomingWebhookAnswer(incoming, outgoing, response, unread);
      return;
    }
    const buffered = takeBufferedResponse(response);
    if (buffered) {
      sendIncomingWebhookAnswer(incoming, outgoing, buffered, unread);
      return;
    }
    const writeBody =
      incoming.method === 'HEAD' || outgoing.headersSent ? undefined : takeNodeBodyWriter(response);
    if (writeBody) {
      sendToNodeBodyWriter(outgoing, response, writeBody, unread);
      return;
    }
    if (unread && !outgoing.headersSent) outgoing.setHeader('connection', 'close');
    try {
      await sendResponse(outgoing, response);
    } catch {
      // The client went away while the body was streaming; nothing is left to tell it.
      outgoing.destroy();
    }
  };
}
