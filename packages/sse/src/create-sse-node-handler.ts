import type { IncomingMessage, ServerResponse } from 'node:http';
import { type NodeHandler, nodeRequestUrl } from '@calltrack/core/node';
import { authorizeSseRequest } from './authorize-sse-request';
import { NodeSseSink } from './node-sse-sink';
import type { SseSettings } from './resolve-sse-settings';
import { resolveSseSettings } from './resolve-sse-settings';
import type { SseHandlerOptions, SseStreamInfo } from './sse-handler-options';
import { sseResponseHeaders } from './sse-response-headers';
import { SseSession } from './sse-session';
import {
  methodNotAllowedResponse,
  streamEndedResponse,
  toSseErrorResponse,
} from './to-sse-error-response';

const http2Forbidden = new Set(['connection']);

/**
 * The same endpoint as `createSseHandler`, as a `node:http` listener or Express middleware
 * (`app.get('/events', createSseNodeHandler(options))`): same options, same wire protocol, same
 * tests, and frames go straight to the `ServerResponse` (as they do for `createSseHandler` behind
 * `toNodeHandler`). The `Request` given to `authenticate` is built from the Node request (URL
 * from `Host`, headers, no body).
 *
 * A `HEAD` gets the status a `GET` would be refused with, or 200 without a stream (see
 * `createSseHandler`). The 200 goes out only once the stream is attached to the bus. A client disconnect (`close` on
 * the response) ends the stream at once; frames for a client that reads slowly wait for the
 * socket's `drain`, and a client more than `maxPendingEvents` frames behind is dropped (it
 * resumes with `Last-Event-ID`).
 */
export function createSseNodeHandler(options: SseHandlerOptions): NodeHandler {
  const settings = resolveSseSettings(options, 'createSseNodeHandler');

  return async (incoming, outgoing) => {
    const head = incoming.method === 'HEAD';
    if (incoming.method !== 'GET' && !head) {
      await sendResponse(outgoing, methodNotAllowedResponse());
      return;
    }
    const url = nodeRequestUrl(incoming, { trustProxy: false });
    let info: Awaited<ReturnType<typeof authorizeSseRequest>>;
    try {
      info = await authorizeSseRequest(settings, {
        url,
        lastEventId: lastEventIdHeaders(incoming),
        headers: incoming.headers,
        request: () => toRequest(incoming, url),
      });
    } catch (error) {
      await sendResponse(outgoing, toSseErrorResponse(settings, error));
      return;
    }
    if (outgoing.destroyed) return;
    if (head) {
      // What a GET would be refused with was answered above; this one would open a stream.
      outgoing.writeHead(200, streamHeaders(incoming));
      outgoing.end();
      return;
    }
    await openStream(settings, info, incoming, outgoing);
  };
}

/**
 * Attaches the stream to the bus, then answers 200: a client is told it is connected only once
 * the events published from then on reach it. A function of its own, so the stream's closures
 * keep only what they need alive (not the URL and the request built for `authenticate`).
 */
async function openStream(
  settings: SseSettings,
  info: SseStreamInfo,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): Promise<void> {
  let session: SseSession | undefined;
  try {
    const opened = new SseSession(settings, info);
    session = opened;
    outgoing.once('close', () => opened.close());
    await opened.attach();
  } catch (error) {
    session?.close();
    await sendResponse(outgoing, toSseErrorResponse(settings, error));
    return;
  }
  if (session.isClosed || outgoing.destroyed) {
    session.close();
    if (!outgoing.destroyed) await sendResponse(outgoing, streamEndedResponse(settings.retryMs));
    return;
  }
  outgoing.writeHead(200, streamHeaders(incoming));
  session.start(new NodeSseSink(outgoing));
}

/** The stream's headers, without those HTTP/2 forbids. */
function streamHeaders(incoming: IncomingMessage): Readonly<Record<string, string>> {
  return incoming.httpVersionMajor >= 2
    ? Object.fromEntries(
        Object.entries(sseResponseHeaders).filter(([name]) => !http2Forbidden.has(name)),
      )
    : sseResponseHeaders;
}

/**
 * The `Last-Event-ID` header's values as sent: Node joins a repeated one with ", ", which
 * `rawHeaders` keeps apart.
 */
function lastEventIdHeaders(incoming: IncomingMessage): string[] | undefined {
  if (incoming.headers['last-event-id'] === undefined) return undefined;
  const values: string[] = [];
  const raw = incoming.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index] as string;
    if (name.length === 13 && name.toLowerCase() === 'last-event-id') {
      values.push(raw[index + 1] as string);
    }
  }
  return values;
}

/** A body-less web `Request` with the Node request's URL and headers, for `authenticate`. */
function toRequest(incoming: IncomingMessage, url: URL): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new Request(url, { method: 'GET', headers });
}

/** Sends a small (error) response on the Node response. */
async function sendResponse(outgoing: ServerResponse, response: Response): Promise<void> {
  const body = await response.text();
  if (outgoing.headersSent || outgoing.destroyed) return;
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  outgoing.end(body);
}
