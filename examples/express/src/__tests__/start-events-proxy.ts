import { createServer, request as forward } from 'node:http';
import type { Socket } from 'node:net';
import { serveForTest } from '@calltrack/test-utils';

/** A reverse proxy in front of the app that can refuse or cut its event streams. */
export interface EventsProxy {
  url: string;
  /** The URL (path and query) of each `/api/events` request, refused or not, in order. */
  eventRequests: string[];
  /** How many `/api/events` requests it refused. */
  refused(): number;
  /** Answers the next `count` `/api/events` requests with `status` and an empty body. */
  refuseEvents(count: number, status?: number): void;
  /** Destroys the open `/api/events` connections, as a network drop would. */
  dropEvents(): void;
  close(): Promise<void>;
}

/** Starts a plain HTTP reverse proxy to `target` on 127.0.0.1 (no WebSocket upgrades). */
export async function startEventsProxy(target: string): Promise<EventsProxy> {
  const upstream = new URL(target);
  const eventRequests: string[] = [];
  const refusals: number[] = [];
  const eventSockets = new Set<Socket>();
  let refused = 0;
  const served = await serveForTest(
    createServer((request, response) => {
      const path = request.url ?? '/';
      const isEvents = new URL(path, upstream).pathname === '/api/events';
      if (isEvents) {
        eventRequests.push(path);
        const status = refusals.shift();
        if (status !== undefined) {
          refused += 1;
          response.writeHead(status, { 'content-type': 'text/plain' }).end();
          return;
        }
        const { socket } = request;
        eventSockets.add(socket);
        response.once('close', () => eventSockets.delete(socket));
      }
      const outgoing = forward(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path,
          headers: { ...request.headers, host: upstream.host },
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      outgoing.on('error', () => response.destroy());
      response.once('close', () => outgoing.destroy());
      request.pipe(outgoing);
    }),
  );
  return {
    url: served.url,
    eventRequests,
    refused: () => refused,
    refuseEvents(count, status = 503) {
      for (let index = 0; index < count; index += 1) refusals.push(status);
    },
    dropEvents() {
      for (const socket of eventSockets) socket.destroy();
    },
    close: served.close,
  };
}
