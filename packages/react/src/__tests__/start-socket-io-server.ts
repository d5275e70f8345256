import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { attachCallTrack } from '@calltrack/socket.io';
import { testEventClock } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';

/**
 * A real `attachCallTrack` Socket.IO server (memory bus + tracker) on 127.0.0.1, and one
 * `socket.io-client` socket of tenant `tenant-a` (the app's socket: it outlives the client's
 * connections).
 */
export interface SocketIoTestServer {
  bus: EventBus;
  tracker: CallTracker;
  socket: Socket;
  close(): Promise<void>;
}

export async function startSocketIoServer(): Promise<SocketIoTestServer> {
  const bus = createMemoryBus();
  const tracker = createCallTracker({ bus, clock: testEventClock() });
  const httpServer = createServer();
  const server = new Server(httpServer, { transports: ['websocket'] });
  attachCallTrack(server, {
    bus,
    tracker,
    authenticate: (handshake) => {
      const token = (handshake.auth as { token?: string }).token;
      return token ? { tenantId: token } : null;
    },
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const socket = io(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, {
    auth: { token: 'tenant-a' },
    transports: ['websocket'],
    reconnectionDelay: 10,
    reconnectionDelayMax: 10,
  });
  return {
    bus,
    tracker,
    socket,
    async close() {
      socket.close();
      await server.close();
      await bus.close();
    },
  };
}
