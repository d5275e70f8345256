import type { CallControl } from '@calltrack/core';
import {
  createProviderApi,
  createSimulator,
  type ProviderApi,
  type ProviderApiOptions,
  type Simulator,
  type SimulatorOptions,
} from '@calltrack/simulator';
import { createDemoCallControl } from './create-demo-call-control';

/** The simulated providers behind the console: their webhooks and their call-control APIs. */
export interface DemoProviders {
  simulator: Simulator;
  providerApi: ProviderApi;
  /** The adapters for the tracker's call-control routes, over `providerApi`. */
  callControl: Record<'twilio' | 'retell' | 'callerdesk', CallControl>;
  close(): Promise<void>;
}

/**
 * Starts the simulated providers for an app listening at `appUrl`: the simulator posts signed
 * webhooks to it (inbound traffic once `simulator.start()` is called), and its provider API (on a
 * loopback port of its own) places and ends calls for the console's click-to-call and hang-up,
 * with the webhooks a real provider would send.
 */
export async function startDemoProviders(
  appUrl: string,
  options: {
    simulator?: Omit<SimulatorOptions, 'target'>;
    providerApi?: Omit<ProviderApiOptions, 'simulator'>;
  } = {},
): Promise<DemoProviders> {
  const simulator = createSimulator({ ...options.simulator, target: appUrl });
  const providerApi = createProviderApi({ ...options.providerApi, simulator });
  const providerApiUrl = await providerApi.listen();
  return {
    simulator,
    providerApi,
    callControl: createDemoCallControl({ providerApiUrl, appUrl }),
    async close() {
      await providerApi.close();
      await simulator.stop({ abort: true });
    },
  };
}
