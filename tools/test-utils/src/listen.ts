import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const servers = new Set<Server>();

/**
 * Starts a `node:http` server on 127.0.0.1 with a random port and returns its base URL. For a
 * fetch handler, pass `toNodeHandler(handler)` from `@calltrack/core/node`.
 */
export async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes every server started by {@link listen}; call it from `afterEach`. */
export async function closeServers(): Promise<void> {
  const closing = [...servers].map((server) => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  servers.clear();
  await Promise.all(closing);
}
