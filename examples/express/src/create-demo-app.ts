import { createServer, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, isIP } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { createCallerDeskWebhookHandler } from '@calltrack/callerdesk';
import type { CallControl } from '@calltrack/core';
import { followRedisReachability, isOutageError } from '@calltrack/core/internal';
import { toNodeHandler } from '@calltrack/core/node';
import { createPresence, type Presence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import { createRetellWebhookHandler } from '@calltrack/retell';
import { demoLines, synthesizeRecording } from '@calltrack/simulator';
import { attachCallTrack, type CallTrackSocketHandle } from '@calltrack/socket.io';
import { createSseNodeHandler } from '@calltrack/sse';
import {
  type CallAlertOptions,
  type CallTracker,
  createCallTracker,
  createTrackerHandler,
  type TrackerCallControl,
} from '@calltrack/tracker';
import { createRedisCallStore } from '@calltrack/tracker/redis';
import { createTwilioWebhookHandler } from '@calltrack/twilio';
import express, {
  type Express,
  type Request as ExpressRequest,
  type Response as ExpressResponse,
  type NextFunction,
} from 'express';
import type { Redis } from 'ioredis';
import { Server as SocketIoServer } from 'socket.io';
import { authenticateDemoUser } from './authenticate-demo-user';
import { callIdParam, passTrackerWords } from './call-id-param';
import { checkBrowserRequest } from './check-browser-request';
import { type CallRouter, createCallRouter } from './create-call-router';
import {
  type CallTimelineRecorder,
  createCallTimelineRecorder,
} from './create-call-timeline-recorder';
import { createDemoDialer, type DemoDialer } from './create-demo-dialer';
import { createDemoWebhooks, type DemoWebhooks } from './create-demo-webhooks';
import { createPresenceRoutes } from './create-presence-routes';
import { createRecordingHandler } from './create-recording-handler';
import { createVoiceRoutingHandler } from './create-voice-routing-handler';
import { demoAlertRules } from './demo-alert-rules';
import type { FetchRecording } from './fetch-provider-recording';
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
  /**
   * Click-to-call and hang-up (`POST /api/calls`, `POST /api/calls/:id/terminate`): the
   * providers' `CallControl` adapters, or a function returning them (main.ts fills them in once
   * the simulated provider API listens). Without it the console hides its call controls.
   */
  callControl?: TrackerCallControl;
  /** Alert thresholds. Default {@link demoAlertRules} (the simulator trips them); `false`: none. */
  alerts?: CallAlertOptions | false;
  /**
   * Fetches a call's recording for `/api/calls/:id/recording`. Default: a synthesized stand-in
   * (the simulated calls' recording URLs hold no audio); `createProviderRecordingFetcher` for real
   * provider accounts.
   */
  fetchRecording?: FetchRecording;
  /** Outbound webhooks (see `createDemoWebhooks`): default on; `false` leaves them out. */
  webhooks?: { failEvery?: number; retrySchedule?: readonly number[] } | false;
  /**
   * The leads page's auto-dialer (`createDemoDialer`): the Twilio `CallControl` it dials with,
   * read at each dial. Without it the leads page says it needs the simulated providers.
   */
  dialerCallControl?: () => CallControl | undefined;
}

/** The running pieces, for main.ts and the tests. */
export interface DemoApp {
  app: Express;
  server: HttpServer;
  io: SocketIoServer;
  bus: EventBus;
  tracker: CallTracker;
  /** The console's outbound webhooks (undefined with `webhooks: false`). */
  webhooks: DemoWebhooks | undefined;
  /** Agents' presence: the console's own user (over SSE and Socket.IO) and the simulated agents. */
  presence: Presence;
  /** Incoming-call routing to available agents (`POST /webhooks/twilio/voice`). */
  callRouter: CallRouter;
  /** The leads page's dialer (undefined without `dialerCallControl`). */
  dialer: DemoDialer | undefined;
  /** The call timelines the detail drawer shows. */
  timelines: CallTimelineRecorder;
  /** Listens on `port` (0: any free port) and resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops taking requests, ends the streams and sockets, stops the tracker, closes the bus. */
  close(): Promise<void>;
}

const publicDirectory = fileURLToPath(new URL('../public', import.meta.url));
// chart.js exports no package.json; its CommonJS entry sits in dist/ beside the UMD bundle.
const chartJsDirectory = dirname(createRequire(import.meta.url).resolve('chart.js'));

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
    ...(options.alerts === false ? {} : { alerts: options.alerts ?? demoAlertRules }),
    // Long-call alerts and the reaper run in the maintenance pass: often enough for a live floor.
    maintenanceIntervalMs: 15_000,
    ...(options.redis
      ? { store: createRedisCallStore({ redis: options.redis, prefix: `${prefix}:tracker` }) }
      : {}),
  });
  tracker.start(); // stale-call reaper and the call.ended outbox, on an unref()ed timer
  const tenantId = authenticateDemoUser().tenantId;
  // Presence heartbeats on the transports' keepalives (SSE every 15 s, Socket.IO pings every
  // 25 s), so no timer of its own; `calls` makes an agent on a call busy.
  const presence = createPresence({
    bus,
    autoHeartbeat: false,
    heartbeatIntervalMs: 25_000,
    calls: tracker,
    ...(options.redis
      ? { store: createRedisPresenceStore({ redis: options.redis, prefix: `${prefix}:presence` }) }
      : {}),
    logger: { warn: (message) => logger.warn(`presence: ${message}`), error: logger.error },
  });
  presence.start(); // the sweeper
  // On Redis, routing reads presence only while the client is ready: a webhook must not wait in
  // ioredis' offline queue (10–40 s on its defaults) for an agent (decision 65).
  const redisUnreachable = options.redis ? followRedisReachability(options.redis) : undefined;
  const callRouter = createCallRouter({
    presence,
    ...(redisUnreachable ? { presenceReachable: () => redisUnreachable() === undefined } : {}),
  });
  const timelines = createCallTimelineRecorder({ bus, tenantId });
  const webhooks =
    options.webhooks === false
      ? undefined
      : createDemoWebhooks({ bus, logger, ...options.webhooks });
  const dialer =
    options.dialerCallControl === undefined
      ? undefined
      : createDemoDialer({ bus, control: options.dialerCallControl, logger });

  const onWebhookError = (provider: string) => (error: unknown) =>
    logger.warn(`${provider} webhook: ${error instanceof Error ? error.message : String(error)}`);

  const twilioWebhook = createTwilioWebhookHandler({
    authToken: credentials.twilioAuthToken,
    sink: tracker,
    // Status callbacks carry both numbers; recording and AMD callbacks carry only the CallSid.
    resolveTenant: async ({ to, from, callSid, direction }) => {
      const tenant =
        resolveDemoTenant(to, from) ?? (await resolveKnownCallTenant(tracker, callSid));
      if (tenant === null || callSid === undefined) return tenant;
      // An inbound call the voice webhook routed carries its agent. The simulator plays Twilio
      // without fetching the voice URL, so its inbound calls are routed at their first webhook.
      if (direction === 'inbound' && !callRouter.hasRouted(callSid)) {
        await callRouter.route(tenant.tenantId, callSid).catch(() => undefined);
      }
      const agentId = callRouter.agentOf(callSid);
      return agentId === undefined ? tenant : { ...tenant, agentId };
    },
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    onError: onWebhookError('twilio'),
  });
  const retellWebhook = createRetellWebhookHandler({
    apiKey: credentials.retellApiKey,
    sink: tracker,
    resolveTenant: ({ number, to, from }) => resolveDemoTenant(number, to, from),
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

  // Browser requests only from the console's own pages (see checkBrowserRequest); the providers'
  // webhooks and the demo receiver are server to server, checked by signature, and may come
  // through a tunnel under another host name.
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined;
  let loopbackOnly = false; // set by listen()
  const serverToServerPaths = new Set([
    '/webhooks/twilio',
    '/webhooks/twilio/voice',
    '/webhooks/retell',
    '/webhooks/callerdesk',
    '/demo-receiver',
  ]);
  const refusalOf = (method: string, headers: IncomingHttpHeaders) =>
    checkBrowserRequest({ method, headers, publicOrigin, loopbackOnly });
  app.use((request, response, next) => {
    if (serverToServerPaths.has(request.path)) {
      next();
      return;
    }
    const refusal = refusalOf(
      request.path === '/api/events' ? 'STREAM' : request.method,
      request.headers,
    );
    if (refusal === undefined) {
      next();
      return;
    }
    response.status(403).json({
      error: {
        code: refusal,
        message:
          refusal === 'host_not_allowed'
            ? 'This app answers to localhost, its addresses and PUBLIC_URL’s host only (set PUBLIC_URL to open it under a name).'
            : 'Requests from pages of another origin are refused.',
      },
    });
  });

  // Webhooks first, before any body parser: the signatures cover the raw body. If your app
  // needs express.json() for its own routes, mount it below these three.
  // The number's voice URL: TwiML that rings an available agent, or voicemail.
  app.post(
    '/webhooks/twilio/voice',
    toNodeHandler(
      createVoiceRoutingHandler({
        router: callRouter,
        authToken: credentials.twilioAuthToken,
        ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
        onError: (error) =>
          isOutageError(error)
            ? logger.warn(`voice routing: ${(error as Error).message} The caller gets voicemail.`)
            : logger.error('voice routing:', error),
      }),
    ),
  );
  app.post('/webhooks/twilio', toNodeHandler(twilioWebhook));
  app.post('/webhooks/retell', toNodeHandler(retellWebhook));
  app.all('/webhooks/callerdesk', toNodeHandler(callerDeskWebhook)); // CallerDesk GETs or POSTs

  // Realtime: one resumable SSE stream per browser tab, starting with the active calls.
  app.get(
    '/api/events',
    createSseNodeHandler({
      bus,
      tracker,
      presence,
      authenticate: authenticateDemoUser,
      onError: (error) => logger.error('calltrack sse:', error),
    }),
  );

  // What the dashboard needs to know about the demo tenant: its branches (for the tiles), its
  // lines (for the click-to-call form) and whether calls can be placed and ended.
  const branches = [
    ...new Set(demoLines.flatMap((line) => (line.branchId ? [line.branchId] : []))),
  ];
  const lines = demoLines
    .filter((line) => line.tenantId === tenantId)
    .map(({ provider, number, branchId }) => ({ provider, number, branchId }));
  app.get('/demo.json', (_request, response) => {
    response.json({
      tenantId,
      branches,
      lines,
      callControl: options.callControl !== undefined,
      webhooks: webhooks !== undefined,
      dialer: dialer !== undefined,
    });
  });

  // The console's own routes under /api, before the tracker's API (which answers 404 for them).
  // Call ids in their paths are read as the tracker reads its own (see call-id-param.ts).
  app.get('/api/calls/:callId/timeline', passTrackerWords, (request, response) => {
    const callId = callIdParam(request);
    if (callId.length > 256) {
      response
        .status(400)
        .json({ error: { code: 'invalid_argument', message: 'Call id too long.' } });
      return;
    }
    response.json({ callId, events: timelines.get(callId) });
  });
  app.get('/api/alerts/recent', (_request, response) => {
    response.json({ alerts: timelines.recentAlerts() });
  });
  app.get(
    '/api/calls/:callId/recording',
    passTrackerWords,
    createRecordingHandler({
      tracker,
      tenantOf: () => authenticateDemoUser().tenantId,
      fetchRecording:
        options.fetchRecording ??
        (async (_url, call) =>
          new Response(synthesizeRecording(call.recordingDurationMs ?? 15_000), {
            headers: { 'content-type': 'audio/wav' },
          })),
      logger,
    }),
  );
  if (webhooks) app.use(webhooks.router);
  if (dialer) app.use(dialer.router); // the leads page: /api/dialer/*, /demo-leads.json
  app.use(createPresenceRoutes({ presence, logger })); // /api/presence/agents, /api/presence/state
  // Chart.js, served from node_modules: the console fetches nothing from the internet.
  app.use('/vendor/chart.js', express.static(chartJsDirectory, { index: false }));

  // The tracker's read API: /api/calls/active, /api/calls/active/count, /api/calls/active/:id…
  app.use(
    '/api',
    toNodeHandler(
      createTrackerHandler({
        tracker,
        basePath: '/api',
        authenticate: authenticateDemoUser,
        ...(options.callControl === undefined ? {} : { callControl: options.callControl }),
      }),
    ),
  );

  // The dashboard: plain HTML, CSS and JS, no build step.
  app.use(express.static(publicDirectory));

  // What Express itself fails on (a path parameter that is not valid URL encoding, a body
  // express.json() refuses) is answered in the API's JSON shape: its default page is HTML with
  // the stack trace, outside production.
  app.use(
    (
      error: unknown,
      _request: ExpressRequest,
      response: ExpressResponse,
      next: NextFunction,
    ): void => {
      if (response.headersSent) {
        next(error);
        return;
      }
      const status = (error as { status?: unknown } | null)?.status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        response.status(status).json({
          error: {
            code: status === 413 ? 'payload_too_large' : 'invalid_argument',
            message:
              error instanceof URIError
                ? 'The path is not valid URL encoding.'
                : (error as Error).message,
          },
        });
        return;
      }
      logger.error('express:', error);
      response.status(500).json({ error: { code: 'internal', message: 'Internal error.' } });
    },
  );

  const server = createServer(app);
  // Socket.IO on the same server; it serves its browser client at /socket.io/socket.io.js.
  const io = new SocketIoServer(server, {
    allowRequest: (request, callback) =>
      callback(null, refusalOf('STREAM', request.headers) === undefined),
  });
  const socketHandle: CallTrackSocketHandle = attachCallTrack(io, {
    bus,
    tracker,
    presence,
    authenticate: authenticateDemoUser,
    onError: (error) => logger.error('calltrack socket.io:', error),
  });
  dialer?.attach(io);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await socketHandle.close();
    await dialer?.close();
    await webhooks?.close();
    await timelines.close();
    await presence.stop();
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
    webhooks,
    presence,
    callRouter,
    dialer,
    timelines,
    async listen(port, host) {
      loopbackOnly = host !== undefined && isLoopbackAddress(host);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      // The dispatcher delivers to the app's own receiver, over loopback.
      await webhooks?.start(`http://127.0.0.1:${address.port}`);
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

/** True for an address only this machine reaches: `localhost`, 127.0.0.0/8, `::1`. */
function isLoopbackAddress(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
