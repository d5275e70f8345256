import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import type { EventBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import {
  createAddressGuard,
  createMemoryWebhookStore,
  createWebhookDispatcher,
  createWebhookHandler,
  InvalidEndpointError,
  type ResolveHost,
  verifyWebhook,
  type WebhookDispatcher,
} from '@calltrack/webhooks';
import express, { type Router } from 'express';
import { authenticateDemoUser } from './authenticate-demo-user';

/** The outbound webhooks of the console, with a receiver of their own to deliver to. */
export interface DemoWebhooks {
  dispatcher: WebhookDispatcher;
  /** `/api/webhooks…` (the management API) and `/demo-receiver` (the local receiver). */
  router: Router;
  /** What the receiver took: verified deliveries and refused ones. */
  readonly received: { verified: number; refused: number; failedOnPurpose: number };
  /**
   * Starts the dispatcher and registers the receiver as the demo tenant's endpoint at
   * `${appUrl}/demo-receiver` (once per process; memory store). Call it once the app listens.
   */
  start(appUrl: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createDemoWebhooks}. */
export interface DemoWebhooksOptions {
  bus: EventBus;
  /** The receiver answers 503 to every n-th delivery, so the page shows a retry. Default 8; 0 never. */
  failEvery?: number;
  /** Delays before each retry, ms. Default 5 s, 30 s, 2 min (short, for a demo). */
  retrySchedule?: readonly number[];
  logger?: Pick<Console, 'warn' | 'error'>;
}

/**
 * `@calltrack/webhooks` in the console: the dispatcher on the memory store, its management API at
 * `/api/webhooks` for the demo tenant, and a local receiver that checks every delivery's Standard
 * Webhooks signature, so the webhooks page is alive on `npm start`. Loopback is private, so the
 * SSRF guard refuses it unless allowed: the allowlist names loopback and plain `http:` is
 * allowed, for the demo's own receiver only. The API has no login, so it refuses any other
 * `http:` or loopback URL, and a host name that resolves to a special address is refused when it
 * connects: nobody who reaches the demo can make it read local services (use https and no
 * allowlist in production).
 */
export function createDemoWebhooks(options: DemoWebhooksOptions): DemoWebhooks {
  const logger = options.logger ?? console;
  const failEvery = options.failEvery ?? 8;
  /** The receiver's URL once started: the one URL the demo delivers to over loopback. */
  let receiverUrl: string | undefined;
  const dispatcher = createWebhookDispatcher({
    store: createMemoryWebhookStore(),
    bus: options.bus,
    allowHttp: true,
    // For the receiver's URL, an IP literal: names resolve through resolvePublicOnly.
    allowedCidrs: ['127.0.0.0/8', '::1/128'],
    resolveHost: resolvePublicOnly,
    retrySchedule: options.retrySchedule ?? [5_000, 30_000, 120_000],
    timeoutMs: 5_000,
    onError: (error) => logger.warn(`calltrack webhooks: ${error.message}`),
  });
  const received = { verified: 0, refused: 0, failedOnPurpose: 0 };
  let secret: string | undefined;
  let deliveries = 0;

  const router = express.Router();
  // Express keeps the full path in originalUrl, which toNodeHandler reads: basePath is `/api`.
  router.use(
    '/api/webhooks',
    toNodeHandler(
      createWebhookHandler({
        dispatcher: {
          ...dispatcher,
          createEndpoint: (tenantId, input) => {
            refuseLoopbackUrl(input?.url, receiverUrl);
            return dispatcher.createEndpoint(tenantId, input);
          },
          updateEndpoint: (tenantId, endpointId, input) => {
            refuseLoopbackUrl(input?.url, receiverUrl);
            return dispatcher.updateEndpoint(tenantId, endpointId, input);
          },
        },
        authenticate: authenticateDemoUser,
        basePath: '/api',
        onError: (error) => logger.error('calltrack webhooks API:', error),
      }),
    ),
  );
  // The tenant's "CRM": verifies the signature over the raw body, as a receiver must.
  router.post(
    '/demo-receiver',
    express.raw({ type: '*/*', limit: '256kb' }),
    (request, response) => {
      try {
        verifyWebhook({
          secret: secret ?? '',
          headers: request.headers as Record<string, string>,
          body: request.body as Buffer,
        });
      } catch (error) {
        received.refused += 1;
        response.status(401).json({ error: (error as Error).message });
        return;
      }
      deliveries += 1;
      if (failEvery > 0 && deliveries % failEvery === 0) {
        received.failedOnPurpose += 1;
        response
          .status(503)
          .set('retry-after', '5')
          .json({ error: 'busy (on purpose, for the demo)' });
        return;
      }
      received.verified += 1;
      response.status(200).json({ ok: true });
    },
  );

  let started = false;
  return {
    dispatcher,
    router,
    received,
    async start(appUrl) {
      if (started) return;
      started = true;
      await dispatcher.start();
      receiverUrl = `${appUrl.replace('localhost', '127.0.0.1')}/demo-receiver`;
      const created = await dispatcher.createEndpoint(authenticateDemoUser().tenantId, {
        url: receiverUrl,
        description: 'Demo CRM (the example’s own receiver)',
        events: ['call.answered', 'call.ended', 'alert.*'],
      });
      secret = created.secret;
    },
    close: () => dispatcher.close(),
  };
}

/** Every range but public unicast: what the demo never reaches but for its own receiver. */
const publicOnly = createAddressGuard();

/**
 * Refuses an endpoint URL given to the demo's API that is not its receiver's and that the
 * loopback allowance would let through: plain `http:`, or an IP literal outside public space.
 * Other problems are the dispatcher's to name.
 */
function refuseLoopbackUrl(url: unknown, receiverUrl: string | undefined): void {
  if (typeof url !== 'string' || url === receiverUrl || !URL.canParse(url)) return;
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') {
    throw new InvalidEndpointError({
      message: 'url: must be an https URL (the demo sends plain http to its own receiver only).',
    });
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const range = isIP(host) === 0 ? undefined : publicOnly(host);
  if (range !== undefined) {
    throw new InvalidEndpointError({
      message: `url: points to a ${range} address (${host}); the demo reaches loopback for its own receiver only.`,
    });
  }
}

/** `dns.lookup`, refusing a name that resolves to loopback or any other special address. */
const resolvePublicOnly: ResolveHost = (hostname, options, callback) => {
  lookup(hostname, options, (error, addresses) => {
    if (error) {
      callback(error, []);
      return;
    }
    const special = addresses.find(({ address }) => publicOnly(address) !== undefined);
    if (special) {
      const refusal = new Error(
        // The address is not named: a tenant would learn what internal names resolve to.
        `Refused to connect to ${hostname}: it resolves to a private or special address (the demo reaches loopback for its own receiver only).`,
      );
      callback(Object.assign(refusal, { code: 'EADDRNOTALLOWED' }), []);
      return;
    }
    callback(null, addresses);
  });
};
