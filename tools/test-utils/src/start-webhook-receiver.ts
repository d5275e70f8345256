import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the receiver answers one request. */
export type ReceiverAnswer =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Never answers (until the client gives up or the receiver closes): a timeout. */
  | 'hang'
  /** Destroys the connection without answering: a reset. */
  | 'reset';

/** One request the receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** How it was answered. */
  answer: ReceiverAnswer;
}

/** A local HTTP server that records webhooks and answers each path per a script. */
export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request so far, in arrival order. */
  readonly requests: ReceivedWebhook[];
  /** Queues answers for the next requests to `path`; after them, the default (204). */
  respond(path: string, ...answers: ReceiverAnswer[]): void;
  /** What `path` answers once its queue is empty (default `{ status: 204 }`). */
  setDefault(path: string, answer: ReceiverAnswer): void;
  /** Requests to `path` (every path when omitted). */
  received(path?: string): ReceivedWebhook[];
  /** Resolves once `count` requests reached `path` (or any path), or rejects after `timeoutMs`. */
  waitFor(
    count: number,
    options?: { path?: string; timeoutMs?: number },
  ): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/**
 * Starts a webhook receiver on 127.0.0.1 (a random port). Each path answers from its own script:
 * a status (with headers, a body, after a delay), `hang` or `reset`.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const queues = new Map<string, ReceiverAnswer[]>();
  const defaults = new Map<string, ReceiverAnswer>();
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const answer = (path: string): ReceiverAnswer =>
    queues.get(path)?.shift() ?? defaults.get(path) ?? { status: 204 };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://receiver').pathname;
      const chosen = answer(path);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
      }
      requests.push({
        path,
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answer: chosen,
      });
      for (const waiter of waiters) waiter();
      if (chosen === 'hang') return;
      if (chosen === 'reset') {
        request.socket.destroy();
        return;
      }
      const write = (): void => {
        response.writeHead(chosen.status, chosen.headers);
        response.end(chosen.body ?? '');
      };
      if (chosen.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          write();
        }, chosen.delayMs);
        timers.add(timer);
      } else {
        write();
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const received = (path?: string): ReceivedWebhook[] =>
    path === undefined ? [...requests] : requests.filter((request) => request.path === path);

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    respond(path, ...answers) {
      queues.set(path, [...(queues.get(path) ?? []), ...answers]);
    },
    setDefault(path, chosen) {
      defaults.set(path, chosen);
    },
    received,
    waitFor(count, { path, timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const matching = received(path);
          if (matching.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(matching);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `The receiver got ${received(path).length} of ${count} requests${path ? ` to ${path}` : ''} within ${timeoutMs} ms.`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
