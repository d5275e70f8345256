import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request a {@link HoldingReceiver} got. */
export interface HeldRequest {
  headers: Record<string, string>;
  body: string;
}

/** A local HTTP server that answers each request only when the test says so. */
export interface HoldingReceiver {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request so far, in arrival order. */
  readonly requests: HeldRequest[];
  /** The most requests it has held open at once. */
  mostOpen(): number;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Answers the request at `index` (arrival order) with `status`. */
  answer(index: number, status: number): void;
  close(): Promise<void>;
}

/**
 * Starts a receiver on 127.0.0.1 that holds every request open until `answer`: a request in
 * flight for as long as a test needs, without a timer.
 */
export async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const requests: HeldRequest[] = [];
  const responses: ServerResponse[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let open = 0;
  let mostOpen = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
      }
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      response.once('close', () => {
        open -= 1;
      });
      requests.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      responses.push(response);
      for (const waiter of waiters) waiter();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    mostOpen: () => mostOpen,
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`The receiver got ${requests.length} of ${count} requests.`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    answer(index, status) {
      const response = responses[index];
      if (!response) throw new Error(`No request ${index} to answer.`);
      response.writeHead(status);
      response.end();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
