import type { SimulatedOutcome } from './simulated-outcome';
import type { SimulatorProvider } from './simulator-provider';

/** One HTTP delivery of a simulated webhook and how the target answered it. */
export interface SimulatorDelivery {
  /** The provider whose webhook this is. */
  provider: SimulatorProvider;
  /** The provider's call id. */
  callId: string;
  /** What the webhook is (see `ScriptedWebhook.kind`), e.g. `status:ringing`, `call_ended`, `report`. */
  kind: string;
  /** The webhook's position in its call's script (0-based); a duplicate repeats its original's. */
  index: number;
  /** How the call ends. */
  outcome: SimulatedOutcome;
  /** The caller, E.164. */
  from: string;
  /** The callee, E.164. */
  to: string;
  /** `GET` or `POST`. */
  method: 'GET' | 'POST';
  /**
   * The URL requested, for logs: CallerDesk's token replaced by `***`, and without CallerDesk's
   * fields when they went in the query (`GET`), as those hold phone numbers.
   */
  url: string;
  /** The HTTP status; 0 when no answer arrived (network error, timeout, abort). */
  status: number;
  /** True for a 2xx answer. */
  ok: boolean;
  /** The answer's JSON body (e.g. `{ ok, published, duplicates }`), or its text; undefined when empty. */
  response: unknown;
  /** Why it failed: the target's error message (`{ error: { message } }`) or the network error. */
  error?: string;
  /** True when this is the second delivery of a webhook whose first one succeeded. */
  duplicate: boolean;
  /** 0 for the first attempt of a delivery; n for its nth retry (after a failed attempt). */
  retry: number;
  /** True when this attempt failed and the provider's policy sends it again (`retries`). */
  willRetry: boolean;
  /**
   * True when this failed attempt was the webhook's last chance: the provider sends it no more,
   * and no other delivery of it was taken or is still to come. The webhook is lost (counted in
   * `stats.lostWebhooks`).
   */
  lost: boolean;
  /** True when this webhook arrives after one the provider sent later (an out-of-order delivery). */
  reordered: boolean;
  /** Milliseconds from sending to the end of the answer. */
  ms: number;
  /** When it was sent (wall clock), ISO 8601. */
  sentAt: string;
}
