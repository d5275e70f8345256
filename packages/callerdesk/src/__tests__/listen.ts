import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FetchHandler, toNodeHandler } from '@calltrack/core';

const servers = new Set<Server>();

/** Starts a `node:http` server on 127.0.0.1 with a random port and returns its base URL. */
export async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Serves a fetch handler over real HTTP through core's `toNodeHandler`. */
export function serve(handler: FetchHandler): Promise<string> {
  return listen(toNodeHandler(handler));
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
