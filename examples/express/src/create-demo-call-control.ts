import { createCallerDeskCallControl, createCallerDeskClient } from '@calltrack/callerdesk';
import type { CallControl } from '@calltrack/core';
import { createRetellCallControl, createRetellClient } from '@calltrack/retell';
import { demoCredentials, demoLines, findDemoLine } from '@calltrack/simulator';
import { createTwilioCallControl, createTwilioClient } from '@calltrack/twilio';

/** Options of {@link createDemoCallControl}. */
export interface DemoCallControlOptions {
  /** Where the providers' APIs are: the simulator's `createProviderApi().listen()` URL. */
  providerApiUrl: string;
  /** The app's own base URL, where Twilio sends the placed calls' status callbacks. */
  appUrl: string;
}

const lineOf = (provider: string, branchId: string) =>
  demoLines.find((line) => line.provider === provider && line.branchId === branchId)!.number;

/**
 * The console's click-to-call and hang-up: the three providers' `CallControl` adapters, pointed at
 * the simulator's provider API with the demo accounts (a real app passes its accounts and leaves
 * `baseUrl` out). Calls go out from the demo tenant's lines, so their webhooks resolve to it.
 */
export function createDemoCallControl(
  options: DemoCallControlOptions,
): Record<'twilio' | 'retell' | 'callerdesk', CallControl> {
  const baseUrl = options.providerApiUrl;
  return {
    twilio: createTwilioCallControl({
      client: createTwilioClient({
        accountSid: demoCredentials.twilioAccountSid,
        authToken: demoCredentials.twilioAuthToken,
        baseUrl,
        timeoutMs: 10_000,
      }),
      from: lineOf('twilio', 'north'),
      statusCallbackUrl: `${options.appUrl}/webhooks/twilio`,
      // What Twilio runs when the callee picks up; the simulator does not fetch it.
      answer: { twiml: '<Response><Say>Connecting you to an agent.</Say></Response>' },
      machineDetection: 'Enable',
      record: true,
    }),
    retell: createRetellCallControl({
      client: createRetellClient({ apiKey: demoCredentials.retellApiKey, baseUrl }),
      from: lineOf('retell', 'north'),
    }),
    callerdesk: createCallerDeskCallControl({
      client: createCallerDeskClient({ authCode: demoCredentials.callerDeskAuthCode, baseUrl }),
      // The deskphone: the national form of the demo line (+91 80 4123 4567).
      from: '08041234567',
      // Its webhooks find their tenant by the virtual number: calls go out only from the placing
      // tenant's numbers, by the same lookup.
      tenantOfNumber: (number) => findDemoLine(number)?.tenantId,
    }),
  };
}
