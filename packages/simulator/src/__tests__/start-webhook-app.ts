import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createCallerDeskWebhookHandler } from '@calltrack/callerdesk';
import type { CallEvent, Clock } from '@calltrack/core';
import { type NodeHandler, toNodeHandler } from '@calltrack/core/node';
import { createRetellWebhookHandler } from '@calltrack/retell';
import { type CollectingSink, createCollectingSink, serveForTest } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { createTwilioWebhookHandler } from '@calltrack/twilio';
import { demoCredentials, type SimulatorCredentials } from '../demo-credentials';
import { demoLines } from '../demo-lines';
import { findDemoLine } from '../find-demo-line';
import type { SimulatorLine } from '../simulator-line';

/** A raw request the app received, before any handler looked at it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * What an app's front answers a request instead of its handler: a status and JSON body (an
 * outage's 503), `'stall'` (never answers), or undefined (the handler answers).
 */
export type InterceptedAnswer = { status: number; body: unknown } | 'stall' | undefined;

/** A loopback app mounting the real provider handlers over a real tracker. */
export interface WebhookApp {
  url: string;
  tracker: CallTracker;
  /** What the tracker published (the tracker's bus). */
  bus: CollectingSink;
  /** Every request, in arrival order. */
  received: ReceivedRequest[];
  /**
   * Resolves with the first event the tracker published (already, or from now on) that matches
   * `predicate`; rejects after `timeoutMs` (default 10 s) naming what it waited for.
   */
  waitForEvent(predicate: (event: CallEvent) => boolean, timeoutMs?: number): Promise<CallEvent>;
  close(): Promise<void>;
}

/**
 * Starts a `node:http` app on loopback with `createTwilioWebhookHandler`,
 * `createRetellWebhookHandler` and `createCallerDeskWebhookHandler` (through `toNodeHandler`)
 * at `<prefix>/<provider>`, publishing into a memory `createCallTracker`. Tenants are resolved
 * with `findDemoLine`, the way the examples do.
 */
export async function startWebhookApp(
  options: {
    credentials?: Partial<SimulatorCredentials>;
    lines?: readonly SimulatorLine[];
    prefix?: string;
    /**
     * How the Twilio route finds the tenant: by number, falling back to `?tenant=` (default), or
     * only from `?tenant=` in the URL, as apps that give Twilio per-tenant callback URLs do.
     */
    twilioTenantFrom?: 'number' | 'query';
    /** The tracker's clock, for a simulator run on a fixed `clock`. */
    clock?: Clock;
    /**
     * The time the Retell handler checks signatures against (within 5 minutes), for a simulator
     * on the same `wallClock`. Default `Date.now`.
     */
    retellClock?: Clock;
    /**
     * Sees every request with its whole body before the handler does, and may answer it instead
     * (then the handler never sees it): an app failing for a while, as during a Redis restart.
     */
    intercept?: (request: ReceivedRequest) => InterceptedAnswer;
  } = {},
): Promise<WebhookApp> {
  const credentials = { ...demoCredentials, ...options.credentials };
  const lines = options.lines ?? demoLines;
  const bus = createCollectingSink();
  const waiters = new Set<(event: CallEvent) => void>();
  const publish = bus.publish.bind(bus);
  bus.publish = async (event) => {
    const result = await publish(event);
    if (!result.duplicate) for (const waiter of [...waiters]) waiter(event);
    return result;
  };
  const waitForEvent = (predicate: (event: CallEvent) => boolean, timeoutMs = 10_000) => {
    const seen = bus.events.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<CallEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`No matching event within ${timeoutMs} ms (${bus.events.length} seen).`));
      }, timeoutMs);
      const waiter = (event: CallEvent) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(event);
      };
      waiters.add(waiter);
    });
  };
  const tracker = createCallTracker({ bus, ...(options.clock ? { clock: options.clock } : {}) });
  const tenantOf = (number: string | undefined) => {
    const line = findDemoLine(number, lines);
    if (line === undefined) return undefined;
    return {
      tenantId: line.tenantId,
      ...(line.branchId === undefined ? {} : { branchId: line.branchId }),
    };
  };
  // Twilio's recording and AMD callbacks carry no numbers; their URLs name the tenant.
  const tenantOfQuery = (url: URL) => {
    const tenantId = url.searchParams.get('tenant');
    return tenantId !== null && lines.some((line) => line.tenantId === tenantId)
      ? { tenantId }
      : undefined;
  };
  const prefix = options.prefix ?? '/webhooks';
  const webRoutes = new Map<string, (request: Request) => Promise<Response>>([
    [
      `${prefix}/twilio`,
      createTwilioWebhookHandler({
        authToken: credentials.twilioAuthToken,
        sink: tracker,
        resolveTenant: ({ to, from, url }) =>
          options.twilioTenantFrom === 'query'
            ? tenantOfQuery(url)
            : (tenantOf(to) ?? tenantOf(from) ?? tenantOfQuery(url)),
      }),
    ],
    [
      `${prefix}/retell`,
      createRetellWebhookHandler({
        apiKey: credentials.retellApiKey,
        sink: tracker,
        ...(options.retellClock ? { clock: options.retellClock } : {}),
        resolveTenant: ({ number }) => tenantOf(number),
      }),
    ],
    [
      `${prefix}/callerdesk`,
      createCallerDeskWebhookHandler({
        token: credentials.callerDeskToken,
        sink: tracker,
        resolveTenant: ({ number }) => tenantOf(number),
      }),
    ],
  ]);
  const routes = new Map<string, NodeHandler>(
    [...webRoutes].map(([path, handler]) => [path, toNodeHandler(handler)]),
  );
  const received: ReceivedRequest[] = [];
  const { intercept } = options;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (intercept !== undefined && webRoutes.has(path)) {
      void interceptRequest(request, response, intercept, webRoutes.get(path)!, received);
      return;
    }
    const handler = routes.get(path);
    const chunks: Buffer[] = [];
    // Observe the body without consuming it for the handler.
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
    });
    if (handler === undefined) {
      request.resume();
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'not_found', message: 'Not found.' } }));
      return;
    }
    void handler(request, response);
  });
  const served = await serveForTest(server);
  return {
    url: served.url,
    tracker,
    bus,
    received,
    waitForEvent,
    close: () => served.close(),
  };
}

/** Reads the whole request, lets `intercept` answer it, else hands it to the fetch handler. */
async function interceptRequest(
  request: IncomingMessage,
  response: ServerResponse,
  intercept: (request: ReceivedRequest) => InterceptedAnswer,
  handler: (request: Request) => Promise<Response>,
  received: ReceivedRequest[],
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const seen: ReceivedRequest = {
    method: request.method ?? '',
    url: request.url ?? '',
    headers: request.headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
  received.push(seen);
  const answer = intercept(seen);
  if (answer === 'stall') return;
  if (answer !== undefined) {
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.body));
    return;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string') headers.set(name, value);
  }
  const answered = await handler(
    new Request(`http://${request.headers.host}${seen.url}`, {
      method: seen.method,
      headers,
      ...(seen.method === 'GET' || seen.method === 'HEAD' ? {} : { body: seen.body }),
    }),
  );
  response.writeHead(answered.status, Object.fromEntries(answered.headers));
  response.end(Buffer.from(await answered.arrayBuffer()));
}
