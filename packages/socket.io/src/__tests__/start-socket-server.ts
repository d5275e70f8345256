import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBus } from '@calltrack/bus';
import { type Principal, UnauthorizedError } from '@calltrack/core';
import { Server, type ServerOptions } from 'socket.io';
import {
  io as connect,
  type ManagerOptions,
  type Socket,
  type SocketOptions,
} from 'socket.io-client';
import {
  type AttachCallTrackOptions,
  attachCallTrack,
  type CallTrackSocketHandle,
} from '../attach-call-track';

/**
 * The app's token check in these tests: `token:<tenant>:<user>` stands for a verified JWT whose
 * claims are the tenant and the user; `admin:<tenant>:<user>` for a super-admin's, who sees every
 * tenant (`allTenants`). Anything else is refused.
 */
export function verifyTestToken(token: unknown): Principal | null {
  if (typeof token !== 'string') return null;
  const match = /^(token|admin):([^:]+):([^:]+)$/.exec(token);
  if (!match) return null;
  const [, kind, tenantId, userId] = match as unknown as [string, string, string, string];
  if (tenantId === 'throws') throw new Error('verifier is down');
  if (tenantId === 'revoked') throw new UnauthorizedError({ message: 'Token revoked' });
  if (kind === 'admin') return { tenantId, userId, allTenants: true, roles: ['super-admin'] };
  return { tenantId, userId };
}

/** A Socket.IO server on 127.0.0.1 with calltrack attached. */
export interface TestSocketServer {
  url: string;
  io: Server;
  http: HttpServer;
  calltrack: CallTrackSocketHandle;
  /** A client with `transports: ['websocket']`, no automatic reconnection. */
  client(auth: Record<string, unknown>, options?: Partial<ManagerOptions & SocketOptions>): Socket;
  close(): Promise<void>;
}

/** Starts a server; `authenticate` defaults to {@link verifyTestToken} on `auth.token`. */
export async function startSocketServer(
  bus: EventBus,
  options: Partial<AttachCallTrackOptions> = {},
  serverOptions: Partial<ServerOptions> = {},
): Promise<TestSocketServer> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], ...serverOptions });
  const calltrack = attachCallTrack(io, {
    bus,
    authenticate: (handshake) => verifyTestToken(handshake.auth.token),
    onError: () => {},
    ...options,
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients = new Set<Socket>();
  return {
    url,
    io,
    http,
    calltrack,
    client(auth, clientOptions = {}) {
      const socket = connect(`${url}${options.namespace ?? ''}`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth,
        ...clientOptions,
      });
      clients.add(socket);
      return socket;
    },
    async close() {
      for (const socket of clients) socket.disconnect();
      await calltrack.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

/** Resolves when the client is connected; rejects with the `connect_error`. */
export function connected(socket: Socket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

/** Resolves with the `connect_error` a refused client gets. */
export function refused(socket: Socket): Promise<Error & { data?: unknown }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected a refusal')));
    socket.once('connect_error', resolve);
  });
}

/** Disconnects a client and resolves once the server has seen it go. */
export function disconnectAndWait(io: Server, socket: Socket, namespace = '/'): Promise<void> {
  const serverSocket = io.of(namespace).sockets.get(socket.id ?? '');
  const gone = new Promise<void>((resolve) => {
    if (!serverSocket) resolve();
    else serverSocket.once('disconnect', () => resolve());
  });
  socket.disconnect();
  return gone;
}
