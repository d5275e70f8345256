import { createServer } from 'node:http';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import {
  createProviderApi,
  createSimulator,
  demoCredentials,
  type ProviderApi,
  type ProviderApiOptions,
} from '@calltrack/simulator';
import { createSseNodeHandler } from '@calltrack/sse';
import { serveForTest } from '@calltrack/test-utils';
import {
  type CallAlertOptions,
  type CallTracker,
  createCallTracker,
  createTrackerHandler,
} from '@calltrack/tracker';
import {
  createTwilioCallControl,
  createTwilioClient,
  createTwilioWebhookHandler,
} from '@calltrack/twilio';
import { EventSource } from 'eventsource';
import { sseTransport } from '../sse-transport';

/**
 * What a console talks to, on 127.0.0.1: the real `@calltrack/sse` endpoint (`/events?token=`),
 * the tracker's HTTP API with Twilio call control (`/api`, bearer token = tenant id), and the
 * Twilio webhook handler the simulated provider's calls report to (`/webhooks/twilio`).
 */
export interface ConsoleServer {
  url: string;
  bus: EventBus;
  tracker: CallTracker;
  providerApi: ProviderApi;
  close(): Promise<void>;
}

/** Starts it; `demo` is the tenant of the simulator's lines. */
export async function startConsoleServer(
  options: { providerApi?: Omit<ProviderApiOptions, 'simulator'>; alerts?: CallAlertOptions } = {},
): Promise<ConsoleServer> {
  const bus = createMemoryBus();
  const tracker = createCallTracker({
    bus,
    logger: {},
    ...(options.alerts === undefined ? {} : { alerts: options.alerts }),
  });
  const events = createSseNodeHandler({
    bus,
    tracker,
    retryMs: 10,
    authenticate: (request) => {
      const token = new URL(request.url).searchParams.get('token');
      return token ? { tenantId: token } : null;
    },
  });
  let api: ReturnType<typeof toNodeHandler> | undefined;
  const webhooks = toNodeHandler(
    createTwilioWebhookHandler({
      authToken: demoCredentials.twilioAuthToken,
      sink: tracker,
      resolveTenant: ({ url }) => {
        const tenantId = url.searchParams.get('tenant');
        return tenantId === null ? null : { tenantId };
      },
    }),
  );
  const served = await serveForTest(
    createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]!;
      if (path === '/events') void events(request, response);
      else if (path.startsWith('/api/')) void api!(request, response);
      else if (path === '/webhooks/twilio') void webhooks(request, response);
      else response.writeHead(404).end();
    }),
  );
  const simulator = createSimulator({ target: served.url, speed: 20, seed: 3 });
  const providerApi = createProviderApi({ simulator, ...options.providerApi });
  const baseUrl = await providerApi.listen();
  api = toNodeHandler(
    createTrackerHandler({
      tracker,
      basePath: '/api',
      logger: {},
      authenticate: (request) => {
        const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
        return token ? { tenantId: token } : null;
      },
      callControl: {
        twilio: createTwilioCallControl({
          client: createTwilioClient({
            accountSid: demoCredentials.twilioAccountSid,
            authToken: demoCredentials.twilioAuthToken,
            baseUrl,
          }),
          from: '+14155550100',
          statusCallbackUrl: `${served.url}/webhooks/twilio`,
          answer: { url: 'https://app.example.com/twiml' },
        }),
      },
    }),
  );
  return {
    url: served.url,
    bus,
    tracker,
    providerApi,
    async close() {
      await providerApi.close();
      await simulator.stop({ abort: true });
      await served.close();
      await bus.close();
    },
  };
}

/** The SSE transport and the API options of tenant `tenantId` against the server. */
export function consoleClientOptions(server: ConsoleServer, tenantId = 'demo') {
  return {
    transport: sseTransport({ url: `${server.url}/events?token=${tenantId}`, EventSource }),
    api: { baseUrl: `${server.url}/api`, headers: { authorization: `Bearer ${tenantId}` } },
  };
}
