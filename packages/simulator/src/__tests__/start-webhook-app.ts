import { createServer, type IncomingMessage } from 'node:http';
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
  const routes = new Map<string, NodeHandler>([
    [
      `${prefix}/twilio`,
      toNodeHandler(
        createTwilioWebhookHandler({
          authToken: credentials.twilioAuthToken,
          sink: tracker,
          resolveTenant: ({ to, from, url }) =>
            options.twilioTenantFrom === 'query'
              ? tenantOfQuery(url)
              : (tenantOf(to) ?? tenantOf(from) ?? tenantOfQuery(url)),
        }),
      ),
    ],
    [
      `${prefix}/retell`,
      toNodeHandler(
        createRetellWebhookHandler({
          apiKey: credentials.retellApiKey,
          sink: tracker,
          resolveTenant: ({ number }) => tenantOf(number),
        }),
      ),
    ],
    [
      `${prefix}/callerdesk`,
      toNodeHandler(
        createCallerDeskWebhookHandler({
          token: credentials.callerDeskToken,
          sink: tracker,
          resolveTenant: ({ number }) => tenantOf(number),
        }),
      ),
    ],
  ]);
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const handler = routes.get((request.url ?? '/').split('?')[0]!);
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
