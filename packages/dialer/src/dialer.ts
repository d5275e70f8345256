import type { BusSubscribeOptions, BusSubscription } from '@calltrack/bus';
import type {
  CallControl,
  CallEvent,
  CallStatus,
  EventSink,
  Logger,
  Principal,
} from '@calltrack/core';
import type { CallPacer } from './call-pacer';
import type { CallingWindowOptions } from './calling-window';
import type { DialerClock } from './dialer-clock';
import type { DialerRunFinishedData } from './dialer-event-data';
import type { DialerLocks } from './dialer-locks';
import type { DialerRun } from './dialer-run';
import type { DoNotCallList } from './do-not-call-list';
import type { Lead } from './lead';
import type { LeadAttempt } from './lead-attempt';
import type { AttemptUpdateResult, LeadStore } from './lead-store';

/** One provider account the dialer places calls through. */
export interface DialerAccount {
  /** Your name for the account, e.g. `twilio-main`: the pacing key, shared by every process. */
  id: string;
  /** The account's `CallControl` adapter (from `@calltrack/twilio`, `retell`, `callerdesk`). */
  control: CallControl;
  /** The account's rate. Default 1 (Twilio's default CPS). */
  callsPerSecond?: number;
  /** The caller id for its calls; otherwise the adapter's own. */
  from?: string;
}

/** What the dialer needs of the bus: publish, and subscribe to follow call events. */
export interface DialerBus extends EventSink {
  subscribe?(options: BusSubscribeOptions): BusSubscription;
}

/** Options of {@link createDialer}. */
export interface DialerOptions {
  /** Where leads and attempts live: the system of record of "called once". */
  store: LeadStore;
  /** Where the dialer's events go; with `subscribe`, `start()` follows call events from it. */
  bus: DialerBus;
  /** The provider accounts; the first is used unless `selectAccount` picks another. */
  accounts: readonly DialerAccount[];
  /** Picks the account (by id) for a lead. */
  selectAccount?: (lead: Lead) => string;
  /**
   * The agent's own number, for providers that ring the agent first (CallerDesk). Resolved once
   * per run, within `hookTimeoutMs` (`signal` aborts then: pass it to your request); one that
   * throws or does not answer in time stops the run on an error before any lead is called.
   */
  agentNumber?: (
    user: { tenantId: string; userId: string },
    ask: { signal: AbortSignal },
  ) => string | undefined | Promise<string | undefined>;
  /** Run and lead leases. Default: in this process (`createMemoryDialerLocks`). */
  locks?: DialerLocks;
  /** Pacing per account. Default: in this process (`createMemoryCallPacer`). */
  pacer?: CallPacer;
  /** Calling hours in each lead's time zone. Default 09:00–21:00 every day. */
  callingWindow?: CallingWindowOptions;
  /**
   * The zone of leads without one (an IANA zone; one this runtime does not know is an
   * `InvalidArgumentError` when the dialer is created). Default none: such leads are skipped.
   */
  defaultTimeZone?: string;
  /**
   * Numbers not to call, checked at dial time. Its `has` gets `hookTimeoutMs` too: one that
   * throws or does not answer in time fails closed, as `isDoNotCall` does.
   */
  doNotCall?: DoNotCallList;
  /**
   * Your own do-not-call or consent check, at dial time: true means do not call. It has
   * `hookTimeoutMs` to answer (`signal` aborts then: pass it to your request); one that throws
   * or does not answer in time fails closed: the lead is skipped (`do_not_call_unavailable`),
   * never called, and checked again on a later run.
   */
  isDoNotCall?: (lead: Lead, check: { signal: AbortSignal }) => boolean | Promise<boolean>;
  /** Attempts per lead (claims; only a refused call makes a lead pending again). Default 3. */
  maxAttempts?: number;
  /** Least time between two attempts at one lead. Default 120 000 (2 minutes). */
  minAttemptGapMs?: number;
  /** Calls in flight per user (claimed, placed or unknown). Default 1. */
  maxConcurrentCallsPerUser?: number;
  /** A placed call stops counting against the cap after this long without its end. Default 1 h. */
  liveCallMaxMs?: number;
  /** The attempt's lease: the reconciler orphans a claim left unfinished this long. Default 60 s. */
  attemptLeaseMs?: number;
  /** How long an `unknown` attempt waits for webhooks before it is orphaned. Default 15 min. */
  unknownSettleMs?: number;
  /**
   * How long a `placed` attempt goes without its end (or a look) before the reconciler asks
   * `lookupCall` whether the call ended: its `call.ended` may have been published while no
   * dialer followed the bus (all were stopped, or restarting). Asked again after as long each
   * time, for a day from the claim. Default 15 min.
   */
  lookupPlacedAfterMs?: number;
  /** The run lease (renewed every third of it). Default 30 s. */
  runLeaseMs?: number;
  /** The per-lead lease around claim and dial. Default 30 s. */
  leadLeaseMs?: number;
  /**
   * Abort a provider request after this long (an ambiguous failure): a dial, and a `lookupCall`
   * (then the attempt is orphaned for review). The dialer stops waiting then even when your
   * adapter ignores its `signal`: the attempt is `unknown` (`ambiguous:timeout`). Default 15 s.
   */
  placeCallTimeoutMs?: number;
  /**
   * How long `isDoNotCall` and `agentNumber` (your hooks), and the `doNotCall` list's `has`,
   * have to answer, on the dialer's clock. Default 10 s.
   */
  hookTimeoutMs?: number;
  /** How often `start()` runs the reconciler. Default 30 s. */
  reconcileIntervalMs?: number;
  /** Leads read per page. Default 100. */
  pageSize?: number;
  /**
   * Tells what became of an attempt's call, from the provider's call list or report, or from
   * your tracker (`tracker.getCall`) — by the attempt's `callId`, or its `attemptId`, which the
   * call carries as its reference:
   * - `{ placed: true, callId?, status? }`: the call exists; with a terminal `status`
   *   (`completed`, `busy`, `no-answer`…) it ended so, and the attempt is recorded `ended`;
   * - `{ placed: false }`: **no call was made, for certain**. The attempt is released and the
   *   lead is dialled again (after the gap, within the cap): answer it only when the provider is
   *   sure, never for "not found yet";
   * - undefined: it cannot tell.
   *
   * Asked about an `unknown` attempt before it is orphaned, and about a `placed` one whose end
   * has not come for `lookupPlacedAfterMs` (its `call.ended` may have been published while no
   * dialer followed the bus). It has `placeCallTimeoutMs` to answer; `signal` aborts then (pass
   * it to your request). One that throws or does not answer in time cannot tell.
   */
  lookupCall?: (
    attempt: LeadAttempt,
    lookup: { signal: AbortSignal },
  ) => Promise<
    { placed: true; callId?: string; status?: CallStatus } | { placed: false } | undefined
  >;
  /** Finds the attempt id a call event carries. Default `callEventReference`. */
  referenceOf?: (event: CallEvent) => string | undefined;
  clock?: DialerClock;
  /**
   * Where the dialer reports what it does: `info` every skip (with its reason), placed call and
   * settled attempt; `warn` refused and ambiguous dials, orphaned attempts, fenced-out writes and
   * lost leases; `error` a store or bus that threw, a run that stopped on an error. Phone numbers
   * (`phoneNumber`, `to`) are masked. Default: warnings and errors to `console.warn`.
   */
  logger?: Logger;
  /** This instance's id, recorded on its claims. Default random. */
  instanceId?: string;
}

/** What one run did. */
export interface RunSummary extends DialerRunFinishedData {
  tenantId: string;
  userId: string;
}

/** What {@link Dialer.trigger} did. */
export type TriggerResult =
  | {
      outcome: 'started';
      runId: string;
      /** The run and any follow-ups it ran, once all have finished. */
      finished: Promise<RunSummary[]>;
    }
  | {
      /** A run of this user was active (here or in another process): it runs once more after. */
      outcome: 'follow_up_scheduled';
    };

/** What {@link Dialer.reconcile} did. */
export interface ReconcileReport {
  /** Attempts orphaned for review. */
  orphaned: number;
  /**
   * Attempts settled by `lookupCall`: `unknown` ones found placed, ended or never made, and
   * `placed` ones found ended.
   */
  settled: number;
}

/** What {@link Dialer.handleCallEvent} did with an event. */
export type CallEventOutcome = 'unlinked' | 'updated' | 'unchanged';

/** An update for one user, from {@link Dialer.followUser}. */
export interface DialerUserUpdate {
  /**
   * `run_started`, `lead_skipped`, `call_placed`, `run_finished` (the dialer's events), or
   * `call_status` / `call_completed` (a tracker `call.*` event for one of the user's calls).
   */
  type:
    | 'run_started'
    | 'lead_skipped'
    | 'call_placed'
    | 'run_finished'
    | 'call_status'
    | 'call_completed';
  /**
   * The event behind the update. A `call_placed` usually carries `dialer.call_placed`; when the
   * call's first webhook arrived before it, that `call.*` event instead (the late
   * `dialer.call_placed` is then not yielded): a call is always announced before its statuses.
   */
  event: CallEvent;
  leadId?: string;
  attemptId?: string;
}

/** One user's updates, from {@link Dialer.followUser}: iterate it with `for await`. */
export interface DialerUserFollow extends AsyncIterable<DialerUserUpdate> {
  /**
   * Resolves once the bus subscription is live: an event published after that is delivered.
   * Wait for it before triggering a run whose first event must not be missed.
   */
  readonly ready: Promise<void>;
}

/** The auto-dialer. */
export interface Dialer {
  /**
   * Starts a run over the user's pending leads (the seed's `leads:fetched`). While a run of the
   * user is active, in this process or another sharing the locks, it schedules one follow-up
   * run instead. Needs `principal.userId`; rejects with `InvalidArgumentError` otherwise, and
   * with `dialer_stopped` (503) once `stop()` was called.
   */
  trigger(principal: Principal): Promise<TriggerResult>;
  /**
   * Applies a tracker `call.*` event to the attempt that placed the call (by call id, else by
   * reference): `placed` on a status, `ended` with its outcome on `call.ended`. `start()` feeds
   * it from the bus; call it yourself if you do not. Rejects with `InvalidEventError` (400) for
   * an event a bus's `publish` refuses (an id or provider with a control character…).
   */
  handleCallEvent(event: CallEvent): Promise<CallEventOutcome>;
  /**
   * Orphans attempts whose lease ran out while `claimed` or `unknown` (after `lookupCall`, if
   * set, could not settle an `unknown` one). Orphans are never redialled; list them with
   * `store.listAttempts({ state: 'orphaned' })` and release with {@link Dialer.releaseAttempt}.
   * An attempt whose lead was deleted, or is on another attempt, is orphaned on its own (reason
   * `lead_gone` / `lead_moved_on`); so is a `placed` one `lookupCall` was asked about. Each call
   * reads at most 500 expired attempts, oldest first, and 100 placed ones.
   */
  reconcile(): Promise<ReconcileReport>;
  /**
   * A run of the tenant, started in this process or, once `start()` follows the bus, in any
   * process on the same bus: its counts so far, final once it finished; undefined for a run
   * unknown here or of another tenant. The last 1,000 runs are kept, in memory.
   *
   * Another process's run is known from its `dialer.*` events: from `dialer.run_started` (or,
   * if this process began following later, from `dialer.run_finished`); while it runs, `placed`
   * and `skipped` count the events seen so far, and `refused`, `unknown` and `notClaimed` stay 0
   * until `dialer.run_finished` brings the final counts. A process that has not `start()`ed
   * (or whose bus has no `subscribe`) knows only its own runs.
   */
  getRun(tenantId: string, runId: string): DialerRun | undefined;
  /**
   * Review: a person decided an orphaned (or unknown) attempt placed no call; the lead is pending
   * again. `reason` is recorded on the attempt; one with a NUL character or a lone surrogate,
   * which a store cannot keep, is an `InvalidArgumentError` (400).
   */
  releaseAttempt(
    tenantId: string,
    attemptId: string,
    reason?: string,
  ): Promise<AttemptUpdateResult>;
  /**
   * A user's updates, live, across processes (from the bus; needs `bus.subscribe`). Subscribes
   * at once; `ready` resolves when the subscription is live.
   */
  followUser(options: { tenantId: string; userId: string; signal?: AbortSignal }): DialerUserFollow;
  /**
   * Follows call events from the bus (and the `dialer.*` events, for {@link Dialer.getRun}) and
   * runs the reconciler periodically. Resolves once the bus subscription is live: a call event
   * published after that is applied (also when the dialer stops first; never rejects).
   */
  start(): Promise<void>;
  /**
   * Stops following, stops runs from claiming more leads, and waits for them to finish, and for
   * triggers in flight: one that had not begun its run begins none and rejects, as every
   * trigger after `stop()` does, with `dialer_stopped` (503). No run begins once it resolved.
   */
  stop(): Promise<void>;
}
