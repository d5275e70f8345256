import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createCallerDeskCallControl,
  createCallerDeskClient,
  createCallerDeskWebhookHandler,
} from '@calltrack/callerdesk';
import type { CallControl, CallEvent, Principal } from '@calltrack/core';
import { type NodeHandler, toNodeHandler } from '@calltrack/core/node';
import {
  createRetellCallControl,
  createRetellClient,
  createRetellWebhookHandler,
} from '@calltrack/retell';
import {
  createProviderApi,
  createSimulator,
  demoCredentials,
  findDemoLine,
  type ProviderApi,
  type ProviderApiOptions,
} from '@calltrack/simulator';
import { createCollectingSink, expressBehindParsers, serveForTest } from '@calltrack/test-utils';
import {
  createTwilioCallControl,
  createTwilioClient,
  createTwilioWebhookHandler,
} from '@calltrack/twilio';
import type express from 'express';
import type { CallTracker } from '../call-tracker';
import { createCallTracker } from '../create-call-tracker';
import { type CreateTrackerHandlerOptions, createTrackerHandler } from '../create-tracker-handler';

/** Bearer tokens of the test app and who they stand for. */
export const principals: Readonly<Record<string, Principal>> = {
  'demo-agent': { tenantId: 'demo', userId: 'agent-1' },
  'other-agent': { tenantId: 'other', userId: 'agent-2' },
  admin: { tenantId: 'ops', userId: 'admin-1', allTenants: true },
};

/** A request to the tracker API: POST by default, as `demo-agent` by default. */
export interface ApiRequestInit {
  method?: string;
  body?: unknown;
  /** The bearer token; null for none. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Another API's base URL (from `addApi`) instead of the app's. */
  base?: string;
}

/** An answer of the tracker API. */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON came back.
  body: any;
}

/** The app: the real provider webhook handlers into a tracker, and the tracker's HTTP API. */
export interface CallControlApp {
  url: string;
  tracker: CallTracker;
  providerApi: ProviderApi;
  /** The adapters over the provider API (Twilio, Retell, CallerDesk). */
  adapters: Record<'twilio' | 'retell' | 'callerdesk', CallControl>;
  /** Resolves with the first published event matching `predicate` (already, or to come). */
  waitForEvent(predicate: (event: CallEvent) => boolean, timeoutMs?: number): Promise<CallEvent>;
  /** Every request the tracker API answered: its path, `Origin`, `Sec-Fetch-Site` and status. */
  apiAnswers: { path: string; origin?: string; site?: string; status: number }[];
  /** Sends a request to the tracker API as `token` (no token: no credentials). */
  api(path: string, init?: ApiRequestInit): Promise<ApiAnswer>;
  /** Mounts another tracker API (another "process") on the same tracker; returns its base URL. */
  addApi(options: Partial<CreateTrackerHandlerOptions>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the app on loopback with a simulator aimed at it and the simulator's provider API, and
 * the tracker API at `/api` with the three adapters as `callControl` (unless `handler` replaces
 * options). Tenants: Twilio's from the callback URL's `?tenant=`, Retell's from `metadata`,
 * CallerDesk's from the line's number.
 */
export async function startCallControlApp(
  options: {
    providerApi?: Omit<ProviderApiOptions, 'simulator'>;
    speed?: number;
    /** Options of the tracker API, or a function of the app's URL (`allowedOrigins`) giving them. */
    handler?:
      | Partial<CreateTrackerHandlerOptions>
      | ((url: string) => Partial<CreateTrackerHandlerOptions>);
    /** More routes of the app by path (a login page, a page of the app). */
    pages?: Readonly<Record<string, (request: IncomingMessage, response: ServerResponse) => void>>;
    /**
     * Serves the app with Express, these middlewares (`express.json()` …) mounted before every
     * route, and an error handler answering `{ error: { message, type } }` with the error's
     * `status` (else 500).
     */
    bodyParsers?: express.RequestHandler[];
  } = {},
): Promise<CallControlApp> {
  const bus = createCollectingSink();
  const waiters = new Set<(event: CallEvent) => void>();
  const publish = bus.publish.bind(bus);
  bus.publish = async (event) => {
    const result = await publish(event);
    if (!result.duplicate) for (const waiter of [...waiters]) waiter(event);
    return result;
  };
  const tracker = createCallTracker({ bus, logger: {} });
  const lineTenant = (number: string | undefined) => {
    const line = findDemoLine(number);
    return line === undefined ? null : { tenantId: line.tenantId };
  };
  const routes = new Map<string, NodeHandler>([
    [
      '/webhooks/twilio',
      toNodeHandler(
        createTwilioWebhookHandler({
          authToken: demoCredentials.twilioAuthToken,
          sink: tracker,
          resolveTenant: ({ url }) => {
            const tenantId = url.searchParams.get('tenant');
            return tenantId === null ? null : { tenantId };
          },
        }),
      ),
    ],
    [
      '/webhooks/retell',
      toNodeHandler(
        createRetellWebhookHandler({
          apiKey: demoCredentials.retellApiKey,
          sink: tracker,
          resolveTenant: ({ metadata, number }) => {
            const tenantId = (metadata as { tenantId?: unknown } | null)?.tenantId;
            return typeof tenantId === 'string' ? { tenantId } : lineTenant(number);
          },
        }),
      ),
    ],
    [
      '/webhooks/callerdesk',
      toNodeHandler(
        createCallerDeskWebhookHandler({
          token: demoCredentials.callerDeskToken,
          sink: tracker,
          resolveTenant: ({ number }) => lineTenant(number),
        }),
      ),
    ],
  ]);
  let apiHandler: NodeHandler | undefined;
  const apiAnswers: CallControlApp['apiAnswers'] = [];
  const route = (
    request: IncomingMessage,
    response: ServerResponse,
    next?: (error?: unknown) => void,
  ) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const page = options.pages?.[path];
    if (page !== undefined) {
      page(request, response);
      return;
    }
    if (path.startsWith('/api/')) {
      // Noted as the head is written, before a byte reaches the client.
      const { origin, 'sec-fetch-site': site } = request.headers;
      const writeHead = response.writeHead.bind(response);
      response.writeHead = ((...args: Parameters<typeof response.writeHead>) => {
        apiAnswers.push({
          path,
          ...(origin === undefined ? {} : { origin }),
          ...(typeof site === 'string' ? { site } : {}),
          status: args[0],
        });
        return writeHead(...args);
      }) as typeof response.writeHead;
    }
    const handler = path.startsWith('/api/') ? apiHandler : routes.get(path);
    if (handler === undefined) {
      response.writeHead(404).end();
      return;
    }
    void handler(request, response, next);
  };
  const served = await serveForTest(
    createServer(
      options.bodyParsers === undefined
        ? route
        : expressBehindParsers(options.bodyParsers, (app) =>
            app.use((request, response, next) => route(request, response, next)),
          ),
    ),
  );

  const simulator = createSimulator({
    target: served.url,
    speed: options.speed ?? Number.POSITIVE_INFINITY,
    seed: 21,
  });
  const providerApi = createProviderApi({ simulator, ...options.providerApi });
  const baseUrl = await providerApi.listen();
  const adapters = {
    twilio: createTwilioCallControl({
      client: createTwilioClient({
        accountSid: demoCredentials.twilioAccountSid,
        authToken: demoCredentials.twilioAuthToken,
        baseUrl,
        timeoutMs: 2_000,
      }),
      from: '+14155550100',
      statusCallbackUrl: `${served.url}/webhooks/twilio`,
      answer: { url: 'https://app.example.com/twiml' },
    }),
    retell: createRetellCallControl({
      client: createRetellClient({ apiKey: demoCredentials.retellApiKey, baseUrl }),
      from: '+14155550110',
    }),
    callerdesk: createCallerDeskCallControl({
      client: createCallerDeskClient({ authCode: demoCredentials.callerDeskAuthCode, baseUrl }),
      from: '08041234567',
      // The lookup CallerDesk's webhooks resolve their tenant with.
      tenantOfNumber: (number) => findDemoLine(number)?.tenantId,
    }),
  };
  const authenticate = (request: Request) => {
    const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
    return token === undefined ? null : (principals[token] ?? null);
  };
  const makeHandler = (handlerOptions: Partial<CreateTrackerHandlerOptions>) =>
    toNodeHandler(
      createTrackerHandler({
        tracker,
        authenticate,
        basePath: '/api',
        callControl: adapters,
        logger: {},
        ...handlerOptions,
      }),
    );
  apiHandler = makeHandler(
    typeof options.handler === 'function' ? options.handler(served.url) : (options.handler ?? {}),
  );
  const extra: (() => Promise<void>)[] = [];

  const waitForEvent = (predicate: (event: CallEvent) => boolean, timeoutMs = 10_000) => {
    const seen = bus.events.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<CallEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`No matching event within ${timeoutMs} ms.`));
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

  const request = async (path: string, init: ApiRequestInit = {}): Promise<ApiAnswer> => {
    const base = init.base ?? served.url;
    const token = init.token === undefined ? 'demo-agent' : init.token;
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  };

  return {
    url: served.url,
    tracker,
    providerApi,
    adapters,
    waitForEvent,
    apiAnswers,
    api: request,
    async addApi(handlerOptions) {
      const other = await serveForTest(createServer(makeHandler(handlerOptions)));
      extra.push(() => other.close());
      return other.url;
    },
    async close() {
      await Promise.all(extra.map((close) => close()));
      await providerApi.close();
      await simulator.stop({ abort: true });
      await served.close();
    },
  };
}
