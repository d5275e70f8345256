import type { CallStatus } from '@calltrack/core';
import type { SimulatedCall } from './simulated-call';
import type { SimulatedOutcome } from './simulated-outcome';
import type { Simulator } from './simulator';
import type { SimulatorProvider } from './simulator-provider';

/** What a request to the provider API asks for. */
export type ProviderApiOperation = 'place' | 'terminate' | 'fetch';

/** A request to the provider API, as `fault` and `outcome` see it (after its credentials checked out). */
export interface ProviderApiRequestInfo {
  provider: SimulatorProvider;
  operation: ProviderApiOperation;
  /** `place`: the number called, E.164. */
  to?: string;
  /** `place`: the line the call goes out from, E.164. */
  from?: string;
  /**
   * `place`: the caller's reference, where the provider carries one: the `reference` query
   * parameter of Twilio's `StatusCallback` URL, Retell's `metadata.reference`, CallerDesk's
   * `campid` (what the provider packages' `CallControl` adapters send).
   */
  reference?: string;
  /** `terminate` and `fetch`: the provider's call id. */
  callId?: string;
}

/**
 * A failure to inject into one request:
 *
 * - `refuse`: a definite refusal in the provider's error format (default: Twilio 400 `21211`,
 *   Retell 400, CallerDesk HTTP 200 with `{"type":"error"}`); nothing is placed or ended;
 * - `fail`: a server error (default 500) in the provider's format; with `placed: true` the call
 *   is placed (or ended) anyway, the ambiguous case a client must reconcile through webhooks;
 * - `delay`: the request is carried out at once and answered `ms` milliseconds later (a client
 *   that times out first cannot know the call was placed);
 * - `hold`: the request is carried out at once and answered once `until` settles: a test holds
 *   the answer for exactly as long as it needs, whatever the machine's speed.
 */
export type ProviderApiFault =
  | { type: 'refuse'; status?: number; message?: string }
  | { type: 'fail'; status?: number; message?: string; placed?: boolean }
  | { type: 'delay'; ms: number }
  | { type: 'hold'; until: PromiseLike<unknown> };

/** Decides per request whether to inject a fault (`undefined`: none). */
export type ProviderApiFaultRule = (
  request: ProviderApiRequestInfo,
) => ProviderApiFault | undefined;

/** Options of {@link createProviderApi}. */
export interface ProviderApiOptions {
  /**
   * The simulator that runs the calls (from `createSimulator`): its `target` receives their
   * webhooks (Twilio's go to the callback URLs each call names), signed with its credentials,
   * at its `speed`, with its duplicate and reorder rates and `seed`.
   */
  simulator: Simulator;
  /**
   * The Twilio account SID clients must use (Basic auth user and the `Accounts/{Sid}` path).
   * The password is the simulator's Twilio Auth Token, which also signs the webhooks, as on
   * Twilio. Default `demoCredentials.twilioAccountSid`.
   */
  twilioAccountSid?: string;
  /** The CallerDesk `authcode` clients must send. Default `demoCredentials.callerDeskAuthCode`. */
  callerDeskAuthCode?: string;
  /**
   * How placed calls end: one outcome, or one per request (`undefined`: drawn from the
   * simulator's `outcomes`). Calls are outbound, from the line the request names.
   */
  outcome?: SimulatedOutcome | ((request: ProviderApiRequestInfo) => SimulatedOutcome | undefined);
  /**
   * Talk time of placed calls that connect, in milliseconds (or per request). Default: drawn
   * like the simulator's own calls. Give a long one to keep calls up until they are hung up.
   */
  talkDurationMs?: number | ((request: ProviderApiRequestInfo) => number | undefined);
  /** Injects failures into requests (after their credentials were checked). */
  fault?: ProviderApiFaultRule;
}

/** A call placed through the provider API. */
export interface ProviderApiCall {
  provider: SimulatorProvider;
  /** The provider's call id (the `callId` of its events). */
  callId: string;
  /** The request's reference (see {@link ProviderApiRequestInfo.reference}). */
  reference: string | undefined;
  /** The line's tenant: whose webhooks these are. */
  tenantId: string;
  /** The line the call went out from, E.164. */
  from: string;
  /** The number called, E.164. */
  to: string;
  /** CallerDesk: the agent rung first, as CallerDesk writes it (10 digits). */
  agentNumber?: string;
  /** How the call ends unless it is hung up first. */
  outcome: SimulatedOutcome;
  /** When it was placed (wall clock), ISO 8601. */
  placedAt: string;
  /** Its status now, on the simulated clock (a hang-up included). */
  readonly status: CallStatus;
  /** True once it was hung up through the API. */
  readonly terminated: boolean;
  /** Resolves when its last webhook was answered. */
  readonly done: Promise<SimulatedCall>;
}

/** Which calls {@link ProviderApi.countCalls} counts; every given field must match. */
export interface ProviderApiCallFilter {
  provider?: SimulatorProvider;
  /** The number called, E.164. */
  to?: string;
  reference?: string;
  tenantId?: string;
}

/**
 * The providers' call-control APIs, played by a simulator: Twilio's Calls resource, Retell's
 * create-phone-call and stop-call, CallerDesk's click-to-call. See {@link createProviderApi}.
 */
export interface ProviderApi {
  /** The API as a fetch handler (`Request` → `Response`). */
  handle(request: Request): Promise<Response>;
  /**
   * Serves the API on `host` (default `127.0.0.1`) and `port` (default: a free one) and resolves
   * with its base URL: give it to the clients as `baseUrl`.
   */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** The base URL once listening. */
  readonly url: string | undefined;
  /** Stops listening (the calls already placed run on). */
  close(): Promise<void>;
  /** Every call placed so far, oldest first. */
  readonly calls: readonly ProviderApiCall[];
  /** How many calls were placed that match `filter` (all of them without one). */
  countCalls(filter?: ProviderApiCallFilter): number;
  /** Replaces the fault rule (`undefined`: no faults). */
  setFault(rule: ProviderApiFaultRule | undefined): void;
}
