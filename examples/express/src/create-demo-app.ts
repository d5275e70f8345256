import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { createCallerDeskWebhookHandler } from '@calltrack/callerdesk';
import { toNodeHandler } from '@calltrack/core/node';
import { createRetellWebhookHandler } from '@calltrack/retell';
import { demoLines } from '@calltrack/simulator';
import { attachCallTrack, type CallTrackSocketHandle } from '@calltrack/socket.io';
import { createSseNodeHandler } from '@calltrack/sse';
import { type CallTracker, createCallTracker, createTrackerHandler } from '@calltrack/tracker';
import { createRedisCallStore } from '@calltrack/tracker/redis';
import { createTwilioWebhookHandler } from '@calltrack/twilio';
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { Server as SocketIoServer } from 'socket.io';
import { authenticateDemoUser } from './authenticate-demo-user';
import { resolveDemoTenant, resolveKnownCallTenant } from './resolve-demo-tenant';

/** The provider secrets the webhook handlers check signatures and tokens with. */
export interface DemoCredentials {
  twilioAuthToken: string;
  retellApiKey: string;
  callerDeskToken: string;
}

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  credentials: DemoCredentials;
  /**
   * A Redis client: when given, the bus and the tracker's store live in Redis, and every instance
   * on the same Redis and prefix shows the same calls. The app never closes it unless
   * `ownsRedis` is true. Without it, everything stays in this process's memory.
   */
  redis?: Redis;
  /** Close `redis` when the app closes (main.ts opened it for the app). Default false. */
  ownsRedis?: boolean;
  /** Prefix of every Redis key (`<prefix>:bus…`, `<prefix>:tracker…`). Default `calltrack`. */
  redisPrefix?: string;
  /**
   * The public origin providers call (a tunnel such as `https://abc.ngrok.app`), so Twilio
   * signatures are checked against the URL Twilio signed. Default: the request's own URL.
   */
  publicUrl?: string;
  /** Where problems are reported. Default `console`. */
  logger?: Pick<Console, 'warn' | 'error'>;
}

/** The running pieces, for main.ts and the tests. */
export interface DemoApp {
  app: Express;
  server: HttpServer;
  io: SocketIoServer;
  bus: EventBus;
  tracker: CallTracker;
  /** Listens on `port` (0: any free port) and resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops taking requests, ends the streams and sockets, stops the tracker, closes the bus. */
  close(): Promise<void>;
}

const publicDirectory = fileURLToPath(new URL('../public', import.meta.url));

/**
 * The calltrack Express example: provider webhooks → tracker → bus → SSE and Socket.IO, the
 * tracker's read API under `/api`, and the live dashboard at `/`.
 */
export function createDemoApp(options: DemoAppOptions): DemoApp {
  const { credentials } = options;
  const logger = options.logger ?? console;
  const prefix = options.redisPrefix ?? 'calltrack';

  // One bus and one tracker per process. With Redis they are views of shared state: the bus
  // duplicates the client once for pub/sub, the store runs one Lua script per event.
  const bus = options.redis
    ? createRedisBus({
        redis: options.redis,
        prefix: `${prefix}:bus`,
        onError: (error) => logger.warn(`calltrack bus: ${error.message}`),
      })
    : createMemoryBus();
  const tracker = createCallTracker({
    bus,
    ...(options.redis
      ? { store: createRedisCallStore({ redis: options.redis, prefix: `${prefix}:tracker` }) }
      : {}),
  });
  tracker.start(); // stale-call reaper and the call.ended outbox, on an unref()ed timer

  const onWebhookError = (provider: string) => (error: unknown) =>
    logger.warn(`${provider} webhook: ${error instanceof Error ? error.message : String(error)}`);

  const twilioWebhook = createTwilioWebhookHandler({
    authToken: credentials.twilioAuthToken,
    sink: tracker,
    // Status callbacks carry both numbers; recording and AMD callbacks carry only the CallSid.
    resolveTenant: ({ to, from, callSid }) =>
      resolveDemoTenant(to, from) ?? resolveKnownCallTenant(tracker, callSid),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    onError: onWebhookError('twilio'),
  });
  const retellWebhook = createRetellWebhookHandler({
    apiKey: credentials.retellApiKey,
    sink: tracker,
    resolveTenant: ({ number, toNumber, fromNumber }) =>
      resolveDemoTenant(number, toNumber, fromNumber),
    onError: onWebhookError('retell'),
  });
  const callerDeskWebhook = createCallerDeskWebhookHandler({
    token: credentials.callerDeskToken, // expected as ?token=… on the webhook URL
    sink: tracker,
    resolveTenant: ({ number, callerNumber }) => resolveDemoTenant(number, callerNumber),
    onError: onWebhookError('callerdesk'),
  });

  const app = express();
  app.disable('x-powered-by');

  // Webhooks first, before any body parser: the signatures cover the raw body. If your app
  // needs express.json() for its own routes, mount it below these three.
  app.post('/webhooks/twilio', toNodeHandler(twilioWebhook));
  app.post('/webhooks/retell', toNodeHandler(retellWebhook));
  app.all('/webhooks/callerdesk', toNodeHandler(callerDeskWebhook)); // CallerDesk GETs or POSTs

  // Realtime: one resumable SSE stream per browser tab, starting with the active calls.
  app.get(
    '/api/events',
    createSseNodeHandler({
      bus,
      tracker,
      authenticate: authenticateDemoUser,
      onError: (error) => logger.error('calltrack sse:', error),
    }),
  );

  // What the dashboard needs to know about the demo tenant (its branches, for the counters).
  const branches = [
    ...new Set(demoLines.flatMap((line) => (line.branchId ? [line.branchId] : []))),
  ];
  app.get('/demo.json', (_request, response) => {
    response.json({ tenantId: authenticateDemoUser().tenantId, branches });
  });

  // The tracker's read API: /api/calls/active, /api/calls/active/count, /api/calls/active/:id…
  app.use(
    '/api',
    toNodeHandler(
      createTrackerHandler({ tracker, basePath: '/api', authenticate: authenticateDemoUser }),
    ),
  );

  // The dashboard: plain HTML, CSS and JS, no build step.
  app.use(express.static(publicDirectory));

  const server = createServer(app);
  // Socket.IO on the same server; it serves its browser client at /socket.io/socket.io.js.
  const io = new SocketIoServer(server);
  const socketHandle: CallTrackSocketHandle = attachCallTrack(io, {
    bus,
    tracker,
    authenticate: authenticateDemoUser,
    onError: (error) => logger.error('calltrack socket.io:', error),
  });

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await socketHandle.close();
    await tracker.stop();
    // Closing the bus ends every SSE stream and Socket.IO delivery; browsers reconnect (to
    // another instance, with Redis) and resume from their last cursor.
    await bus.close();
    const serverClosed = new Promise<void>((resolve) => {
      // Disconnects the sockets, stops listening and waits for open HTTP connections.
      void io.close(() => resolve());
    });
    server.closeIdleConnections();
    const forceClose = setTimeout(() => server.closeAllConnections(), 2_000);
    forceClose.unref();
    await serverClosed;
    clearTimeout(forceClose);
    if (options.redis && options.ownsRedis) await options.redis.quit();
  };

  return {
    app,
    server,
    io,
    bus,
    tracker,
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const shownHost =
        host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      return `http://${shownHost}:${address.port}`;
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
