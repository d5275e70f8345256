import { createDialer } from '../create-dialer';
import type { DialerOptions } from '../dialer';
import type { LeadStore } from '../lead-store';

/**
 * A dialer for tests of its reconciler: it publishes nowhere and its one account fails the test
 * if anything dials. `options` adds what the test needs (`lookupCall`…).
 */
export function createReconcilingDialer(
  store: LeadStore,
  clock: DialerOptions['clock'],
  options: Partial<DialerOptions> & { provider?: string } = {},
) {
  const { provider = 'test', ...rest } = options;
  return createDialer({
    store,
    bus: { publish: async () => ({ duplicate: false }) },
    accounts: [
      {
        id: 'test',
        control: {
          provider,
          placeCall: async () => {
            throw new Error('the reconciler never dials');
          },
          terminateCall: async () => {},
        },
      },
    ],
    clock,
    logger: {},
    ...rest,
  });
}
