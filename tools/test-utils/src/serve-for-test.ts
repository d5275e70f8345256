import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A server listening on 127.0.0.1 whose client connections a test can cut from the server side. */
export interface TestServer {
  url: string;
  server: Server;
  /** Destroys every open connection, as a network drop or a crashed proxy would. */
  dropConnections(): void;
  /** Closes the server and every connection it holds. */
  close(): Promise<void>;
}

const running = new Set<TestServer>();

/** Starts `server` on a random loopback port, tracking its connections. */
export async function serveForTest(server: Server): Promise<TestServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const testServer: TestServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      running.delete(testServer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.add(testServer);
  return testServer;
}

/** Closes every server {@link serveForTest} started and that is still open; for `afterEach`. */
export async function stopTestServers(): Promise<void> {
  await Promise.all([...running].map((testServer) => testServer.close()));
}
