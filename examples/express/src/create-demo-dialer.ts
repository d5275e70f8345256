import type { EventBus } from '@calltrack/bus';
import type { CallControl } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  createDialer,
  createDialerHandler,
  createMemoryDoNotCallList,
  createMemoryLeadStore,
  type Dialer,
  type LeadStore,
} from '@calltrack/dialer';
import { attachDialer, type DialerSocketHandle } from '@calltrack/dialer/socket.io';
import { Router } from 'express';
import type { Server as SocketIoServer } from 'socket.io';
import { authenticateDemoUser } from './authenticate-demo-user';
import { createDemoLeadList, demoDoNotCallNumber } from './demo-leads';

/** Options of {@link createDemoDialer}. */
export interface DemoDialerOptions {
  bus: EventBus;
  /**
   * The Twilio `CallControl` the dialer places calls with, read at each dial: main.ts fills it in
   * once the simulated provider API listens.
   */
  control: () => CallControl | undefined;
  /** Where the dialer's own warnings go. Default `console`. */
  logger?: Pick<Console, 'warn' | 'error'>;
  /** Calls per second on the demo's Twilio account. Default 2: fast, and still watchable. */
  callsPerSecond?: number;
}

/** The leads page's server side. */
export interface DemoDialer {
  dialer: Dialer;
  store: LeadStore;
  /** `/api/dialer/*` (the dialer's HTTP route) and `GET /demo-leads.json`. */
  router: Router;
  /** Serves `leads:fetched` and the user's `call:*` / `dialer:*` events on `/dialer`. */
  attach(io: SocketIoServer): void;
  close(): Promise<void>;
}

/** Socket.IO namespace of the leads page: the console's own sockets get none of its events. */
export const dialerNamespace = '/dialer';

/**
 * The auto-dialer behind the leads page, in this process's memory: leads are called through the
 * same Twilio `CallControl` as click-to-call (the simulator's provider API in the demo), and the
 * tracker's events for those calls (from the Twilio webhooks) move each lead along.
 */
export function createDemoDialer(options: DemoDialerOptions): DemoDialer {
  const logger = options.logger ?? console;
  const store = createMemoryLeadStore();
  const doNotCall = createMemoryDoNotCallList();
  const { tenantId } = authenticateDemoUser();
  void doNotCall.add(tenantId, [demoDoNotCallNumber]);

  // Read at each dial: the provider API starts after the app listens.
  const control: CallControl = {
    provider: 'twilio',
    placeCall(request) {
      const current = options.control();
      if (current === undefined) throw new Error('The simulated provider API is not running.');
      return current.placeCall(request);
    },
    async terminateCall(callId, terminateOptions) {
      await options.control()?.terminateCall(callId, terminateOptions);
    },
  };
  const dialer = createDialer({
    store,
    bus: options.bus,
    accounts: [{ id: 'twilio-demo', control, callsPerSecond: options.callsPerSecond ?? 2 }],
    doNotCall,
    // Three lines at once, so a list of five is done in well under a minute.
    maxConcurrentCallsPerUser: 3,
    logger: { warn: (message) => logger.warn(`dialer: ${message}`), error: logger.error },
  });
  dialer.start();

  const router = Router();
  router.get('/demo-leads.json', (_request, response) => {
    response.json({ leads: createDemoLeadList(new Date()).leads });
  });
  router.use(
    '/api/dialer',
    toNodeHandler(
      createDialerHandler({
        dialer,
        store,
        basePath: '/api',
        authenticate: authenticateDemoUser,
        onError: (error) => logger.error('dialer route:', error),
      }),
    ),
  );

  let socketHandle: DialerSocketHandle | undefined;
  return {
    dialer,
    store,
    router,
    attach(io) {
      socketHandle = attachDialer(io, {
        dialer,
        namespace: dialerNamespace,
        authenticate: authenticateDemoUser,
        onError: (error) => logger.error('dialer socket.io:', error),
      });
    },
    async close() {
      await socketHandle?.close();
      await dialer.stop();
    },
  };
}
