// The dialer wired as an app wires it, on loopback: the simulator's provider API (Twilio, Retell,
// CallerDesk) behind the providers' real `CallControl` adapters; the calls' webhooks through the
// providers' real webhook handlers into a tracker, which publishes on a bus the dialer follows.
import { createServer } from 'node:http';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import {
  createCallerDeskCallControl,
  createCallerDeskClient,
  createCallerDeskWebhookHandler,
} from '@calltrack/callerdesk';
import type { CallEvent } from '@calltrack/core';
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
import { serveForTest } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import {
  createTwilioCallControl,
  createTwilioClient,
  createTwilioWebhookHandler,
} from '@calltrack/twilio';
import { createDialer } from '../create-dialer';
import { createMemoryLeadStore } from '../create-memory-lead-store';
import { createTestClock, type TestClock } from '../create-test-clock';
import type { Dialer, DialerOptions } from '../dialer';
import type { Lead, LeadInput } from '../lead';
import type { LeadStore } from '../lead-store';

/** The tenant of the simulator's demo lines: every webhook resolves to it. */
export const demoTenant = 'demo';
/** The agent CallerDesk rings first. */
export const agentNumber = '+919876500001';

export interface DialerApp {
  dialer: Dialer;
  store: LeadStore;
  bus: EventBus;
  tracker: CallTracker;
  providerApi: ProviderApi;
  clock: TestClock;
  /** Every event published on the bus, in order. */
  events: CallEvent[];
  /** Resolves once `predicate` holds for the store's view of the leads (polls the store). */
  waitForLeads(
    tenantId: string,
    leadIds: readonly string[],
    predicate: (leads: Lead[]) => boolean,
    timeoutMs?: number,
  ): Promise<Lead[]>;
  close(): Promise<void>;
}

/**
 * Starts the app. Leads choose their provider account by the leading digits of their id
 * (`twilio-…`, `retell-…`, `callerdesk-…`); `outcome` decides how each placed call ends.
 */
export async function startDialerApp(
  options: {
    leads?: readonly LeadInput[];
    providerApi?: Omit<ProviderApiOptions, 'simulator'>;
    dialer?: Partial<DialerOptions>;
    /** The bus the tracker publishes on and the dialer follows. Default: in memory. */
    bus?: EventBus;
  } = {},
): Promise<DialerApp> {
  const bus = options.bus ?? createMemoryBus();
  const events: CallEvent[] = [];
  const publish = bus.publish.bind(bus);
  bus.publish = async (event) => {
    const result = await publish(event);
    if (!result.duplicate) events.push(event);
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
  const webhooks = await serveForTest(
    createServer((request, response) => {
      const handler = routes.get((request.url ?? '/').split('?')[0]!);
      if (handler === undefined) response.writeHead(404).end();
      else void handler(request, response);
    }),
  );
  const simulator = createSimulator({
    target: webhooks.url,
    speed: Number.POSITIVE_INFINITY,
    seed: 15,
  });
  const providerApi = createProviderApi({ simulator, ...options.providerApi });
  const baseUrl = await providerApi.listen();

  const store = options.dialer?.store ?? createMemoryLeadStore();
  if (options.leads !== undefined) await store.addLeads(options.leads);
  // 2026-03-02 15:00 UTC: 10:00 in New York, 20:30 in Bengaluru, inside the default window.
  const clock = createTestClock(Date.parse('2026-03-02T15:00:00.000Z'));
  const dialer = createDialer({
    store,
    bus,
    accounts: [
      {
        id: 'twilio-main',
        callsPerSecond: 100,
        control: createTwilioCallControl({
          client: createTwilioClient({
            accountSid: demoCredentials.twilioAccountSid,
            authToken: demoCredentials.twilioAuthToken,
            baseUrl,
            timeoutMs: 5_000,
          }),
          from: '+14155550100',
          statusCallbackUrl: `${webhooks.url}/webhooks/twilio`,
          answer: { url: 'https://app.example.com/twiml' },
        }),
      },
      {
        id: 'retell-main',
        callsPerSecond: 100,
        control: createRetellCallControl({
          client: createRetellClient({ apiKey: demoCredentials.retellApiKey, baseUrl }),
          from: '+14155550110',
        }),
      },
      {
        id: 'callerdesk-main',
        callsPerSecond: 100,
        control: createCallerDeskCallControl({
          client: createCallerDeskClient({ authCode: demoCredentials.callerDeskAuthCode, baseUrl }),
          from: '08041234567',
        }),
      },
    ],
    selectAccount: (lead) => `${lead.leadId.split('-')[0]}-main`,
    agentNumber: () => agentNumber,
    clock,
    logger: {},
    ...options.dialer,
  });
  dialer.start();

  return {
    dialer,
    store,
    bus,
    tracker,
    providerApi,
    clock,
    events,
    async waitForLeads(tenantId, leadIds, predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const leads = await Promise.all(leadIds.map((id) => store.getLead(tenantId, id)));
        const found = leads.filter((lead): lead is Lead => lead !== undefined);
        if (found.length === leadIds.length && predicate(found)) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `Leads not as expected within ${timeoutMs} ms: ${JSON.stringify(found.map((lead) => [lead.leadId, lead.callStatus]))}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      await dialer.stop();
      await providerApi.close();
      await simulator.stop({ abort: true });
      await webhooks.close();
      await bus.close?.();
    },
  };
}
