import type { IncomingMessage, ServerResponse } from 'node:http';
import { type NodeHandler, nodeRequestUrl } from '@calltrack/core/node';
import { authorizeSseRequest } from './authorize-sse-request';
import { resolveSseSettings } from './resolve-sse-settings';
import type { SseHandlerOptions } from './sse-handler-options';
import { sseResponseHeaders } from './sse-response-headers';
import { SseSession, type SseSink } from './sse-session';
import { methodNotAllowedResponse, toSseErrorResponse } from './to-sse-error-response';

const http2Forbidden = new Set(['connection']);

/**
 * The same endpoint as `createSseHandler`, as a `node:http` listener or Express middleware
 * (`app.get('/events', createSseNodeHandler(options))`): same options, same wire protocol, same
 * tests, but frames go straight to the `ServerResponse` instead of through a web
 * `ReadableStream`, which makes each connection lighter and each delivery cheaper. The `Request`
 * given to `authenticate` is built from the Node request (URL from `Host`, headers, no body).
 *
 * A client disconnect (`close` on the response) ends the bus subscription at once; a client that
 * reads slowly is paused on the socket's `drain`, and cut off by the bus (`lagged`) once its
 * buffer is full.
 */
export function createSseNodeHandler(options: SseHandlerOptions): NodeHandler {
  const settings = resolveSseSettings(options, 'createSseNodeHandler');

  return async (incoming, outgoing) => {
    if (incoming.method !== 'GET') {
      await sendResponse(outgoing, methodNotAllowedResponse());
      return;
    }
    const url = nodeRequestUrl(incoming, { trustProxy: false });
    let info: Awaited<ReturnType<typeof authorizeSseRequest>>;
    try {
      info = await authorizeSseRequest(settings, {
        url,
        lastEventId: headerValue(incoming.headers['last-event-id']),
        request: () => toRequest(incoming, url),
      });
    } catch (error) {
      await sendResponse(outgoing, toSseErrorResponse(settings, error));
      return;
    }
    if (outgoing.destroyed) return;
    const session = SseSession.open(settings, info);
    outgoing.once('close', () => session.close());
    outgoing.writeHead(
      200,
      incoming.httpVersionMajor >= 2
        ? Object.fromEntries(
            Object.entries(sseResponseHeaders).filter(([name]) => !http2Forbidden.has(name)),
          )
        : sseResponseHeaders,
    );
    // Returned, not awaited: this function's locals (the URL, the request) are not kept alive for
    // the lifetime of the stream.
    return session.run(new NodeSseSink(outgoing));
  };
}

/** Writes frames to a `ServerResponse`, following its backpressure. */
class NodeSseSink implements SseSink {
  constructor(private readonly response: ServerResponse) {}

  write(chunk: Uint8Array): boolean {
    if (this.response.destroyed) return true;
    return this.response.write(chunk);
  }

  get writable(): boolean {
    return !this.response.writableNeedDrain && !this.response.destroyed;
  }

  drain(): Promise<void> {
    const { response } = this;
    if (!response.writableNeedDrain || response.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        response.off('drain', done);
        response.off('close', done);
        resolve();
      };
      response.on('drain', done);
      response.on('close', done);
    });
  }

  /** Ends the response; drops a client that is behind (it resumes with `Last-Event-ID`). */
  end(): void {
    const { response } = this;
    if (response.writableEnded || response.destroyed) return;
    if (response.writableNeedDrain) response.destroy();
    else response.end();
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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
