import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A test server on 127.0.0.1 whose client connections can be cut from the server side. */
export interface TestServer {
  url: string;
  server: Server;
  /** Destroys every open connection, as a crashed proxy or a network drop would. */
  dropConnections(): void;
}

const running = new Set<Server>();

/** Starts a `node:http` server on a random port. */
export async function startServer(listener: RequestListener): Promise<TestServer> {
  const server = createServer(listener);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  running.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Closes every server {@link startServer} started; for `afterEach`. */
export async function stopServers(): Promise<void> {
  const closing = [...running].map((server) => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  running.clear();
  await Promise.all(closing);
}
