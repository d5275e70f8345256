import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CallStatus,
  InvalidArgumentError,
  jsonResponse,
  toErrorResponse,
} from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  callerDeskClickToCallPath,
  handleCallerDeskClickToCall,
} from './callerdesk-click-to-call-api';
import { demoCredentials } from './demo-credentials';
import type {
  ProviderApi,
  ProviderApiCall,
  ProviderApiCallFilter,
  ProviderApiFaultRule,
  ProviderApiOptions,
  ProviderApiRequestInfo,
} from './provider-api';
import type {
  ProviderApiCallRecord,
  ProviderApiContext,
  ProviderApiPlacement,
} from './provider-api-context';
import { createRandom } from './random';
import { handleRetellCallsApi, isRetellCallsPath } from './retell-calls-api';
import { scriptedCallStatusAt, scriptedCallTimeline } from './scripted-call-timeline';
import { type SimulatedOutcome, simulatedOutcomes } from './simulated-outcome';
import { simulatorInternalsOf } from './simulator-internals';
import type { SimulatorProvider } from './simulator-provider';
import { handleTwilioCallsApi, isTwilioCallsPath } from './twilio-calls-api';

/**
 * The providers' call-control APIs, played by a simulator on loopback, so apps and tests place
 * and end calls with the real provider clients and no provider account:
 *
 * - **Twilio**: `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` creates a call,
 *   `POST …/Calls/{Sid}.json` with `Status=completed` hangs it up (`canceled` cancels one not
 *   yet answered), `GET …/Calls/{Sid}.json` reads it. Basic auth (`twilioAccountSid` and the
 *   simulator's Auth Token).
 * - **Retell**: `POST /v2/create-phone-call`, `POST /v2/stop-call/{call_id}`. Bearer auth (the
 *   simulator's Retell API key).
 * - **CallerDesk**: `GET /api/click_to_call_v2` (the `authcode` in the query). CallerDesk's API
 *   cannot end calls, so neither can this one.
 *
 * Answers and errors come in each provider's own shapes. A placed call runs like the simulator's
 * own calls (an outbound call from the line the request names, to the number it names): it
 * rings, connects or fails, and its webhooks go to the simulator's `target`, signed, at its
 * `speed` (Twilio's to the `StatusCallback`, AMD and recording callback URLs of the request, for
 * the events it subscribed to, as Twilio does). A hang-up ends it with the webhooks the provider
 * would send (Twilio `completed`, or `canceled` before the answer; Retell `manual_stopped`).
 * Point the clients at it with their `baseUrl` option (one URL for all three).
 *
 * Throws `InvalidArgumentError` when `simulator` does not come from `createSimulator`.
 *
 * @example
 * const simulator = createSimulator({ target: 'http://127.0.0.1:3000', speed: 10 });
 * const providerApi = createProviderApi({ simulator });
 * const baseUrl = await providerApi.listen();
 * const twilio = createTwilioClient({
 *   accountSid: demoCredentials.twilioAccountSid,
 *   authToken: demoCredentials.twilioAuthToken,
 *   baseUrl,
 * });
 */
export function createProviderApi(options: ProviderApiOptions): ProviderApi {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'createProviderApi needs { simulator }.' });
  }
  const simulator = simulatorInternalsOf(options.simulator);
  const { config } = simulator;
  const outcomeOption = options.outcome;
  if (typeof outcomeOption === 'string' && !simulatedOutcomes.includes(outcomeOption)) {
    throw new InvalidArgumentError({
      message: `createProviderApi: unknown outcome "${outcomeOption}".`,
    });
  }
  let faultRule: ProviderApiFaultRule | undefined = options.fault;
  const records: ProviderApiCallRecord[] = [];
  const byCallId = new Map<string, ProviderApiCallRecord>();
  let server: Server | undefined;
  let url: string | undefined;

  const outcomeFor = (info: ProviderApiRequestInfo, seed: number): SimulatedOutcome => {
    const chosen = typeof outcomeOption === 'function' ? outcomeOption(info) : outcomeOption;
    if (chosen !== undefined) return chosen;
    return createRandom(seed).weighted(config.outcomes) ?? 'completed';
  };
  const talkFor = (info: ProviderApiRequestInfo): number | undefined =>
    typeof options.talkDurationMs === 'function'
      ? options.talkDurationMs(info)
      : options.talkDurationMs;

  const place = (placement: ProviderApiPlacement): ProviderApiCallRecord => {
    const seed = simulator.nextSeed();
    const script = placement.script({
      outcome: outcomeFor(placement.info, seed),
      talkDurationMs: talkFor(placement.info),
      seed,
      startedAt: config.now(),
    });
    const timeline = scriptedCallTimeline(script);
    const running = simulator.run(placement.deliver(script), { seed });
    const { end } = placement;
    const status = (): CallStatus => {
      const { ending } = running;
      if (ending !== undefined) return ending.status;
      return scriptedCallStatusAt(timeline, running.elapsedMs());
    };
    const call: ProviderApiCall = {
      provider: script.provider,
      callId: script.callId,
      reference: placement.info.reference,
      tenantId: placement.line.tenantId,
      from: placement.line.number,
      to: placement.info.to,
      ...(placement.agentNumber === undefined ? {} : { agentNumber: placement.agentNumber }),
      outcome: script.outcome,
      placedAt: new Date().toISOString(),
      get status() {
        return status();
      },
      get terminated() {
        return running.ending !== undefined;
      },
      done: running.done,
    };
    const record: ProviderApiCallRecord = {
      call,
      script,
      get ending() {
        return running.ending;
      },
      end: () => (end === undefined ? undefined : running.end((atMs) => end(script, atMs))),
    };
    records.push(record);
    byCallId.set(`${script.provider}:${script.callId}`, record);
    return record;
  };

  const context: ProviderApiContext = {
    simulator,
    twilioAccountSid: options.twilioAccountSid ?? demoCredentials.twilioAccountSid,
    callerDeskAuthCode: options.callerDeskAuthCode ?? demoCredentials.callerDeskAuthCode,
    lines: (provider: SimulatorProvider) =>
      config.lines.filter((line) => line.provider === provider),
    fault: (info) => faultRule?.(info),
    place,
    find: (provider, callId) => byCallId.get(`${provider}:${callId}`),
  };

  const handle = async (request: Request): Promise<Response> => {
    try {
      const { pathname } = new URL(request.url);
      if (isTwilioCallsPath(pathname)) return await handleTwilioCallsApi(request, context);
      if (isRetellCallsPath(pathname)) return await handleRetellCallsApi(request, context);
      if (pathname === callerDeskClickToCallPath) {
        return await handleCallerDeskClickToCall(request, context);
      }
      return jsonResponse(
        { error: { code: 'not_found', message: `The provider API has no ${pathname}.` } },
        { status: 404 },
      );
    } catch (error) {
      return toErrorResponse(error);
    }
  };

  return {
    handle,
    get url() {
      return url;
    },
    async listen(listenOptions = {}) {
      if (url !== undefined) return url;
      const host = listenOptions.host ?? '127.0.0.1';
      const started = createServer(toNodeHandler(handle));
      await new Promise<void>((resolve, reject) => {
        started.once('error', reject);
        started.listen(listenOptions.port ?? 0, host, () => {
          started.off('error', reject);
          resolve();
        });
      });
      server = started;
      const { port } = started.address() as AddressInfo;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      return url;
    },
    async close() {
      const closing = server;
      server = undefined;
      url = undefined;
      if (closing === undefined) return;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    get calls() {
      return records.map((record) => record.call);
    },
    countCalls(filter: ProviderApiCallFilter = {}) {
      return records.filter(
        ({ call }) =>
          (filter.provider === undefined || call.provider === filter.provider) &&
          (filter.to === undefined || call.to === filter.to) &&
          (filter.reference === undefined || call.reference === filter.reference) &&
          (filter.tenantId === undefined || call.tenantId === filter.tenantId),
      ).length;
    },
    setFault(rule) {
      faultRule = rule;
    },
  };
}
