import { createHash, randomUUID } from 'node:crypto';
import {
  type CallEvent,
  type CallStatus,
  CallTrackError,
  InvalidArgumentError,
  InvalidEventError,
  isSealedCallEvent,
  isTerminalStatus,
  NotFoundError,
  parseCallEvent,
  principalSchema,
} from '@calltrack/core';
import {
  createLoopFailureLog,
  isKeyText,
  type LoopPassLog,
  longestTimerDelayMs,
} from '@calltrack/core/internal';
import { askWithin } from './ask-within';
import { callEventReference } from './call-event-reference';
import { createCallingWindow } from './calling-window';
import { checkLeadGates, type GateDecision, type LeadGates } from './check-lead-gates';
import { createDialerEvent } from './create-dialer-event';
import { createMemoryCallPacer } from './create-memory-call-pacer';
import { createMemoryDialerLocks } from './create-memory-dialer-locks';
import type {
  CallEventOutcome,
  Dialer,
  DialerAccount,
  DialerOptions,
  ReconcileReport,
  RunSummary,
  TriggerResult,
} from './dialer';
import { systemClock } from './dialer-clock';
import type { DialerRunFinishedData } from './dialer-event-data';
import type { DialerLease } from './dialer-locks';
import { createMaskedDialerLogger, defaultDialerLogger } from './dialer-logger';
import type { DialerRun } from './dialer-run';
import { followUserUpdates } from './follow-user-updates';
import { forEachAtMost } from './for-each-at-most';
import { isDefiniteRefusal } from './is-definite-refusal';
import { isStorableText } from './is-storable-text';
import { keepLease } from './keep-lease';
import type { Lead } from './lead';
import type { LeadAttempt } from './lead-attempt';
import type {
  AttemptUpdate,
  AttemptUpdateResult,
  ClaimResult,
  DetachedAttempt,
  ExpiredAttemptOutcome,
  LeadSkip,
  OrphanExpiredAttemptsRequest,
} from './lead-store';
import { orphanExpiredAttempt } from './orphan-expired-attempts';
import { pacingSchedule } from './pacing-schedule';
import { isValidTimeZone } from './zoned-time';

type Counts = Pick<RunSummary, 'placed' | 'skipped' | 'refused' | 'unknown' | 'notClaimed'>;

/**
 * Creates the auto-dialer: for each of a user's pending leads, in order, the compliance gates,
 * then the atomic claim in the lead store, then the dial through a `CallControl` adapter.
 *
 * - **Once, ever.** A lead is dialled only after the store claimed it (marked called, with a
 *   fencing token): a reload, a restart or a second server finds it claimed. A crash after the
 *   claim leaves an attempt the reconciler orphans for review, never redials.
 * - **Outcomes.** A definite refusal (non-retryable `ProviderApiError`) releases the lead; an
 *   ambiguous failure (timeout, 5xx) marks the attempt `unknown` for webhooks to settle.
 * - **Locks** (one run per user, one worker per lead) and **pacing** (calls per second per
 *   account, calls in flight per user) are shared through `locks` and `pacer`; they are for
 *   efficiency, correctness rests on the claim.
 */
export function createDialer(options: DialerOptions): Dialer {
  checkOptions(options);
  const { store, bus } = options;
  const clock = options.clock ?? systemClock;
  const logger = createMaskedDialerLogger(options.logger ?? defaultDialerLogger);
  const locks = options.locks ?? createMemoryDialerLocks({ clock });
  const pacer = options.pacer ?? createMemoryCallPacer();
  const instanceId = options.instanceId ?? `dialer-${randomUUID()}`;
  const referenceOf = options.referenceOf ?? callEventReference;
  const maxAttempts = options.maxAttempts ?? 3;
  const minAttemptGapMs = options.minAttemptGapMs ?? 120_000;
  const maxConcurrent = options.maxConcurrentCallsPerUser ?? 1;
  const liveCallMaxMs = options.liveCallMaxMs ?? 3_600_000;
  const attemptLeaseMs = options.attemptLeaseMs ?? 60_000;
  const unknownSettleMs = options.unknownSettleMs ?? 900_000;
  const lookupPlacedAfterMs = options.lookupPlacedAfterMs ?? 900_000;
  // A placed call whose end was missed is looked up for a day from its claim (what the tracker
  // keeps of an ended call by default); after that, it stays placed for review.
  const placedLookupHorizonMs = 86_400_000;
  // Provider lookups in flight at once in a pass: one at a time, a provider that hangs until
  // `placeCallTimeoutMs` (15 s) made a pass of 100 lookups last 25 minutes.
  const lookupConcurrency = 8;
  const runLeaseMs = options.runLeaseMs ?? 30_000;
  const leadLeaseMs = options.leadLeaseMs ?? 30_000;
  const placeCallTimeoutMs = options.placeCallTimeoutMs ?? 15_000;
  const hookTimeoutMs = options.hookTimeoutMs ?? 10_000;
  const reconcileIntervalMs = options.reconcileIntervalMs ?? 30_000;
  const pageSize = options.pageSize ?? 100;
  const slotPollMs = 1_000;
  // A follow-up request waits for the end of the run, which lasts as long as its calls (hours
  // with one call at a time, days with a call held): the run's holder renews it with its lease,
  // to a day each time, so it lives as long as the run. A request left behind (its run's process
  // died) costs the user's next run one more pass over the pending leads, gated and claimed like
  // any: the TTL only cleans up.
  const followUpTtlMs = 86_400_000;
  // Locks written before renewFollowUp existed: said once, not at every renewal of every run.
  const renewsFollowUps = typeof locks.renewFollowUp === 'function';
  if (!renewsFollowUps) {
    logger.warn(
      'Your DialerLocks has no renewFollowUp: a follow-up request asked for during a run is kept for a day from the request, not for the whole run.',
    );
  }
  const gates: LeadGates = {
    window: createCallingWindow(options.callingWindow),
    maxAttempts,
    minAttemptGapMs,
    ...(options.defaultTimeZone === undefined ? {} : { defaultTimeZone: options.defaultTimeZone }),
    ...(options.doNotCall === undefined ? {} : { doNotCall: options.doNotCall }),
  };
  const accounts = new Map(options.accounts.map((account) => [account.id, account]));
  const firstAccount = options.accounts[0]!;

  const stopping = new AbortController();
  const background = new Set<Promise<unknown>>();
  const slotWaiters = new Map<string, Set<() => void>>();
  // Runs for getRun, by tenant and run id, oldest first: the runs started here (`local`, counts
  // read live), and, once start() follows the bus, the other processes' runs, folded from their
  // dialer.* events.
  const runs = new Map<string, { run: DialerRun; counts: Counts; local: boolean }>();
  const maxRuns = 1_000;
  let started = false;
  // Resolved once start() follows the bus (its subscription is live), or when stopping.
  let followingLive: () => void = () => {};
  const following = new Promise<void>((resolve) => {
    followingLive = resolve;
  });

  const track = <T>(promise: Promise<T>): Promise<T> => {
    background.add(promise);
    void promise.then(
      () => background.delete(promise),
      () => background.delete(promise),
    );
    return promise;
  };
  // JSON, not joined with colons: an id with a colon cannot reach another tenant's run or lock.
  const userKey = (tenantId: string, userId: string): string => JSON.stringify([tenantId, userId]);
  const runKey = (tenantId: string, userId: string): string =>
    JSON.stringify(['run', tenantId, userId]);
  const leadKey = (tenantId: string, leadId: string): string =>
    JSON.stringify(['lead', tenantId, leadId]);
  const runEntryKey = (tenantId: string, runId: string): string =>
    JSON.stringify([tenantId, runId]);

  const rememberRun = (run: DialerRun, counts: Counts, local: boolean): void => {
    runs.set(runEntryKey(run.tenantId, run.runId), { run, counts, local });
    if (runs.size > maxRuns) runs.delete(runs.keys().next().value as string);
  };

  /**
   * Folds another process's `dialer.*` event into its run: `run_started` (or a `run_finished`
   * whose start was missed) makes the run known, skips and placed calls count while it runs,
   * `run_finished` brings the final counts. Runs started here are counted where they run.
   */
  const foldRunEvent = (event: CallEvent): void => {
    const data = event.data as Partial<DialerRunFinishedData> & { cause?: unknown };
    if (typeof data?.runId !== 'string' || event.userId === undefined) return;
    const entry = runs.get(runEntryKey(event.tenantId, data.runId));
    if (entry?.local || entry?.run.state === 'finished') return;
    switch (event.type) {
      case 'dialer.run_started':
        if (entry !== undefined || (data.cause !== 'trigger' && data.cause !== 'follow_up')) return;
        rememberRun(
          {
            tenantId: event.tenantId,
            userId: event.userId,
            runId: data.runId,
            cause: data.cause,
            state: 'running',
            startedAt: event.occurredAt,
            ...noCounts(),
          },
          noCounts(),
          false,
        );
        return;
      case 'dialer.lead_skipped':
        if (entry !== undefined) entry.counts.skipped += 1;
        return;
      case 'dialer.call_placed':
        if (entry !== undefined) entry.counts.placed += 1;
        return;
      case 'dialer.run_finished': {
        const cause = entry?.run.cause ?? data.cause;
        const startedAt = entry?.run.startedAt ?? data.startedAt;
        if ((cause !== 'trigger' && cause !== 'follow_up') || typeof startedAt !== 'string') return;
        const counts: Counts = {
          placed: Number(data.placed) || 0,
          skipped: Number(data.skipped) || 0,
          refused: Number(data.refused) || 0,
          unknown: Number(data.unknown) || 0,
          notClaimed: Number(data.notClaimed) || 0,
        };
        const run: DialerRun = {
          tenantId: event.tenantId,
          userId: event.userId,
          runId: data.runId,
          cause,
          state: 'finished',
          startedAt,
          finishedAt: event.occurredAt,
          ...counts,
          ...(data.stoppedBy === undefined ? {} : { stoppedBy: data.stoppedBy }),
          ...(data.nextRetryAt === undefined ? {} : { nextRetryAt: data.nextRetryAt }),
        };
        if (entry === undefined) rememberRun(run, counts, false);
        else Object.assign(entry.run, run);
        return;
      }
    }
  };

  const notifySlot = (tenantId: string, userId: string): void => {
    for (const wake of slotWaiters.get(userKey(tenantId, userId)) ?? []) wake();
  };

  const publish = async (event: CallEvent): Promise<void> => {
    try {
      await bus.publish(event);
    } catch (error) {
      logger.error('Publishing a dialer event failed.', {
        eventId: event.id,
        type: event.type,
        error,
      });
    }
  };

  const write = async (update: AttemptUpdate): Promise<AttemptUpdateResult | undefined> => {
    try {
      const result = await store.updateAttempt(update);
      if (!result.applied) {
        logger.warn('A write about an attempt was refused by the fence; it changed nothing.', {
          tenantId: update.tenantId,
          leadId: update.leadId,
          attemptId: update.attemptId,
          state: update.state,
          reason: result.reason,
        });
      }
      return result;
    } catch (error) {
      logger.error('Recording an attempt failed; the reconciler will find it after its lease.', {
        tenantId: update.tenantId,
        leadId: update.leadId,
        attemptId: update.attemptId,
        state: update.state,
        error,
      });
      return undefined;
    }
  };

  const selectAccount = (lead: Lead): DialerAccount => {
    if (!options.selectAccount) return firstAccount;
    const account = accounts.get(options.selectAccount(lead));
    if (!account) {
      throw new InvalidArgumentError({ message: 'selectAccount returned an unknown account id.' });
    }
    return account;
  };

  /** Waits until the user has fewer calls in flight than the cap; true if it had to wait. */
  const waitForSlot = async (
    tenantId: string,
    userId: string,
    signal: AbortSignal,
  ): Promise<boolean> => {
    if (maxConcurrent === Number.POSITIVE_INFINITY) return false;
    const key = userKey(tenantId, userId);
    let waited = false;
    while (!signal.aborted) {
      const live = await store.countLiveAttempts({
        tenantId,
        userId,
        since: clock.now() - liveCallMaxMs,
      });
      if (live < maxConcurrent) return waited;
      waited = true;
      const wait = new AbortController();
      const onAbort = (): void => wait.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const waiters = slotWaiters.get(key) ?? new Set();
      const wake = (): void => wait.abort();
      waiters.add(wake);
      slotWaiters.set(key, waiters);
      await clock.sleep(slotPollMs, wait.signal);
      waiters.delete(wake);
      if (waiters.size === 0) slotWaiters.delete(key);
      signal.removeEventListener('abort', onAbort);
    }
    return waited;
  };

  /** Dials one claimed lead and records what the provider answered, fenced. */
  const dial = async (
    claim: Extract<ClaimResult, { claimed: true }>,
    account: DialerAccount,
    context: { runId: string; userId: string; agentNumber: string | undefined; counts: Counts },
  ): Promise<void> => {
    const { lead, attempt } = claim;
    const key = {
      tenantId: lead.tenantId,
      leadId: lead.leadId,
      attemptId: attempt.attemptId,
      fence: attempt.fence,
    };
    let placed: Awaited<ReturnType<DialerAccount['control']['placeCall']>>;
    try {
      const timeout = AbortSignal.timeout(placeCallTimeoutMs);
      placed = await answerWithin(
        account.control.placeCall({
          tenantId: lead.tenantId,
          to: lead.phoneNumber,
          reference: attempt.attemptId,
          signal: timeout,
          ...(account.from === undefined ? {} : { from: account.from }),
          ...(context.agentNumber === undefined ? {} : { agentNumber: context.agentNumber }),
        }),
        timeout,
        placeCallTimeoutMs,
      );
    } catch (error) {
      const code = CallTrackError.isInstance(error) ? error.code : 'error';
      const message = error instanceof Error ? error.message.slice(0, 200) : String(error);
      if (isDefiniteRefusal(error)) {
        context.counts.refused += 1;
        logger.warn('The provider refused the call; the lead is pending again.', {
          ...key,
          account: account.id,
          error: message,
        });
        await write({ ...key, state: 'released', now: clock.now(), reason: `refused:${code}` });
      } else {
        context.counts.unknown += 1;
        logger.warn('Placing the call failed ambiguously; webhooks or a lookup settle it.', {
          ...key,
          account: account.id,
          error: message,
        });
        await write({
          ...key,
          state: 'unknown',
          now: clock.now(),
          leaseMs: unknownSettleMs,
          reason: `ambiguous:${code}`,
        });
      }
      return;
    }
    // An answer no event or store can carry (an adapter's bug, a provider's malformed reply): the
    // call may well exist, so it is ambiguous, not a refusal — released, the lead would be dialled
    // again while that call may ring. Recorded `placed`, PostgreSQL refuses the write (the attempt
    // stayed `claimed` until orphaned) and Redis keeps a lone surrogate as U+FFFD.
    const unusable = unusablePlacedCallField(placed);
    if (unusable !== undefined) {
      context.counts.unknown += 1;
      logger.warn(
        `The provider answered with ${answerParts[unusable]} no event or store can keep; the attempt is unknown, for webhooks or a lookup to settle.`,
        { ...key, account: account.id },
      );
      await write({
        ...key,
        state: 'unknown',
        now: clock.now(),
        leaseMs: unknownSettleMs,
        reason: `ambiguous:invalid_${unusable}`,
      });
      return;
    }
    context.counts.placed += 1;
    await write({
      ...key,
      state: 'placed',
      now: clock.now(),
      provider: placed.provider,
      ...(placed.callId === undefined ? {} : { callId: placed.callId }),
    });
    logger.info('Call placed.', { ...key, provider: placed.provider, callId: placed.callId });
    await publish(
      createDialerEvent('dialer.call_placed', {
        id: `dialer:${attempt.attemptId}:placed`,
        tenantId: lead.tenantId,
        userId: context.userId,
        at: clock.now(),
        provider: placed.provider,
        to: lead.phoneNumber,
        ...(placed.callId === undefined ? {} : { callId: placed.callId }),
        data: {
          runId: context.runId,
          leadId: lead.leadId,
          attemptId: attempt.attemptId,
          reference: attempt.attemptId,
          account: account.id,
        },
      }),
    );
  };

  /** One pass over the user's pending leads. */
  const runOnce = async (
    tenantId: string,
    userId: string,
    runId: string,
    cause: 'trigger' | 'follow_up',
    signal: AbortSignal,
  ): Promise<RunSummary> => {
    const counts = noCounts();
    const startedAt = new Date(clock.now()).toISOString();
    // Your hooks get `hookTimeoutMs` each, and no longer than the run: one that never answers
    // held the run, the user's run lease and stop() for good. A do-not-call check that did not
    // answer fails closed (`do_not_call_unavailable`); an agent number, the run stops on it.
    const ask = <T>(name: string, hook: (hookSignal: AbortSignal) => T | Promise<T>): Promise<T> =>
      askWithin(hook, { clock, timeoutMs: hookTimeoutMs, name, signal });
    // The do-not-call list too: a PostgreSQL or Redis that holds the query (a lock, a pause, a
    // failover) held the run as long. Its `has` takes no signal; a late answer is dropped.
    const { isDoNotCall } = options;
    const { doNotCall } = gates;
    const runGates: LeadGates = {
      ...gates,
      ...(doNotCall === undefined
        ? {}
        : {
            doNotCall: {
              has: (listTenantId: string, phoneNumber: string) =>
                ask('The do-not-call list', () => doNotCall.has(listTenantId, phoneNumber)),
            },
          }),
      ...(isDoNotCall === undefined
        ? {}
        : {
            isDoNotCall: (lead: Lead) =>
              ask('isDoNotCall', (hookSignal) => isDoNotCall(lead, { signal: hookSignal })),
          }),
    };
    const run: DialerRun = {
      tenantId,
      userId,
      runId,
      cause,
      state: 'running',
      startedAt,
      ...counts,
    };
    rememberRun(run, counts, true);
    let nextRetryAt: number | undefined;
    let stoppedBy: RunSummary['stoppedBy'];
    const dials = new Set<Promise<void>>();
    await publish(
      createDialerEvent('dialer.run_started', {
        id: `dialer:${runId}:started`,
        tenantId,
        userId,
        at: clock.now(),
        data: { runId, cause },
      }),
    );

    // Skips wait here to be written together (`recordSkips`: one statement, one script for a
    // page of leads outside their window, where one each was a round trip each), then each is
    // published, in order. Written before anything else happens in the run (a lead that passed
    // its gates, the next page, the end), so the events come in the order they did one by one,
    // and a follower reading a skipped lead finds its reason.
    const skipped: { skip: LeadSkip; retryAt: number | undefined }[] = [];
    const skip = (lead: Lead, decision: Extract<GateDecision, { pass: false }>): void => {
      const { reason, retryAt } = decision;
      counts.skipped += 1;
      if (retryAt !== undefined && (nextRetryAt === undefined || retryAt < nextRetryAt)) {
        nextRetryAt = retryAt;
      }
      if (decision.error === undefined) {
        logger.info('Lead skipped.', { tenantId, userId, leadId: lead.leadId, reason });
      } else {
        logger.warn('The do-not-call check failed; the lead is skipped, not called.', {
          tenantId,
          userId,
          leadId: lead.leadId,
          reason,
          error: decision.error,
        });
      }
      skipped.push({ skip: { tenantId, leadId: lead.leadId, reason, now: clock.now() }, retryAt });
    };
    const recordSkipped = async (): Promise<void> => {
      if (skipped.length === 0) return;
      const batch = skipped.splice(0);
      try {
        await store.recordSkips(batch.map((entry) => entry.skip));
      } catch (error) {
        logger.error('Recording skips failed.', {
          tenantId,
          leadIds: batch.map((entry) => entry.skip.leadId),
          error,
        });
      }
      for (const {
        skip: { leadId, reason, now },
        retryAt,
      } of batch) {
        await publish(
          createDialerEvent('dialer.lead_skipped', {
            id: skippedEventId(runId, leadId),
            tenantId,
            userId,
            at: now,
            data: {
              runId,
              leadId,
              reason,
              ...(retryAt === undefined ? {} : { retryAt: new Date(retryAt).toISOString() }),
            },
          }),
        );
      }
    };

    try {
      const { agentNumber: agentNumberOf } = options;
      const agentNumber =
        agentNumberOf === undefined
          ? undefined
          : await ask('agentNumber', (hookSignal) =>
              agentNumberOf({ tenantId, userId }, { signal: hookSignal }),
            );
      let after: string | undefined;
      pages: for (;;) {
        const page = await store.listPendingLeads({
          tenantId,
          userId,
          limit: pageSize,
          ...(after === undefined ? {} : { afterLeadId: after }),
        });
        for (const lead of page) {
          if (signal.aborted) break pages;
          // 1. The compliance gates: a gated lead is skipped without waiting for anything.
          let decision = await checkLeadGates(lead, clock.now(), runGates);
          if (!decision.pass) {
            // Stopped while a hook was asked: not the lead's skip, and no dial either.
            if (signal.aborted) break pages;
            skip(lead, decision);
            continue;
          }
          await recordSkipped();
          // 2. A free line for the user; after a wait, the gates again: they hold at dial time.
          if (await waitForSlot(tenantId, userId, signal)) {
            if (signal.aborted) break pages;
            decision = await checkLeadGates(lead, clock.now(), runGates);
            if (!decision.pass) {
              if (signal.aborted) break pages;
              skip(lead, decision);
              continue;
            }
          }
          if (signal.aborted) break pages;
          // 3. The account's rate, shared by every process. Its wait can last a whole window or
          // more, so the gates again: a lead that fails now is skipped and the slot is wasted.
          const account = selectAccount(lead);
          await pacer.acquire(account.id, account.callsPerSecond ?? 1, signal);
          if (signal.aborted) break pages;
          decision = await checkLeadGates(lead, clock.now(), runGates);
          if (!decision.pass) {
            if (signal.aborted) break pages;
            skip(lead, decision);
            continue;
          }
          // 4. The lead's lease, then the claim: the one write that decides.
          const leadLease = await locks.acquire(leadKey(tenantId, lead.leadId), leadLeaseMs);
          if (!leadLease) {
            counts.notClaimed += 1;
            continue;
          }
          let claim: ClaimResult | undefined;
          try {
            [claim] = await store.claimLeads({
              tenantId,
              leadIds: [lead.leadId],
              now: clock.now(),
              leaseMs: attemptLeaseMs,
              claimedBy: instanceId,
              maxAttempts,
              minAttemptGapMs,
              // The row as the gates saw it: edited since (your CRM changed the number, the zone
              // or the owner), it is not claimed, so no number is dialled that no gate checked.
              checked: [
                {
                  leadId: lead.leadId,
                  userId: lead.userId,
                  phoneNumber: lead.phoneNumber,
                  timeZone: lead.timeZone,
                },
              ],
            });
          } catch (error) {
            await releaseQuietly(leadLease);
            throw error;
          }
          if (!claim?.claimed) {
            await releaseQuietly(leadLease);
            if (claim?.reason === 'attempt_cap' || claim?.reason === 'too_soon') {
              skip(lead, { pass: false, reason: claim.reason });
            } else {
              if (claim?.reason === 'changed') {
                logger.info('The lead changed after its gates; left for the next run.', {
                  tenantId,
                  userId,
                  leadId: lead.leadId,
                });
              }
              counts.notClaimed += 1;
            }
            continue;
          }
          // A store of your own that ignores `checked` (its conformance suite says so): what it
          // claimed is not what the gates passed. Never dialled; released for the next run.
          if (!isAsChecked(claim.lead, lead)) {
            logger.error(
              'The store claimed a lead whose number, zone or owner changed after its gates (it ignores ClaimLeadsRequest.checked); it is released, not dialled.',
              { tenantId, userId, leadId: lead.leadId },
            );
            await write({
              tenantId,
              leadId: lead.leadId,
              attemptId: claim.attempt.attemptId,
              fence: claim.attempt.fence,
              state: 'released',
              now: clock.now(),
              reason: 'changed',
            });
            await releaseQuietly(leadLease);
            counts.notClaimed += 1;
            continue;
          }
          // 5. The dial, in the background: the next lead waits for a free line above.
          const dialing: Promise<void> = dial(claim, account, {
            runId,
            userId,
            agentNumber,
            counts,
          })
            .catch((error) => logger.error('A dial failed unexpectedly.', { tenantId, error }))
            .finally(() => {
              dials.delete(dialing);
              notifySlot(tenantId, userId);
              return releaseQuietly(leadLease);
            });
          dials.add(dialing);
        }
        await recordSkipped();
        if (page.length < pageSize) break;
        after = page.at(-1)!.leadId;
      }
    } catch (error) {
      if (!signal.aborted) {
        stoppedBy = 'error';
        logger.error('A run stopped on an error; claimed leads are safe.', {
          tenantId,
          userId,
          runId,
          error,
        });
      }
    }
    // What a stop or an error left unwritten (never throws: a failure is logged).
    await recordSkipped();
    await Promise.all(dials);
    if (signal.aborted && stoppedBy === undefined) {
      stoppedBy = stopping.signal.aborted ? 'stopped' : 'lease_lost';
    }
    const summary: RunSummary = {
      tenantId,
      userId,
      runId,
      ...counts,
      ...(stoppedBy === undefined ? {} : { stoppedBy }),
      ...(nextRetryAt === undefined ? {} : { nextRetryAt: new Date(nextRetryAt).toISOString() }),
      cause,
      startedAt,
    };
    Object.assign(run, summary, {
      state: 'finished',
      finishedAt: new Date(clock.now()).toISOString(),
    });
    const { tenantId: _tenant, userId: _user, ...data } = summary;
    await publish(
      createDialerEvent('dialer.run_finished', {
        id: `dialer:${runId}:finished`,
        tenantId,
        userId,
        at: clock.now(),
        data,
      }),
    );
    return summary;
  };

  const releaseQuietly = async (lease: DialerLease): Promise<void> => {
    try {
      await lease.release();
    } catch (error) {
      logger.warn('Releasing a lease failed; it expires on its own.', { key: lease.key, error });
    }
  };

  /** Runs while holding the user's run lease: the run, then one per follow-up asked for. */
  const runWhileHeld = async (
    tenantId: string,
    userId: string,
    lease: DialerLease,
    firstRunId: string,
    firstCause: 'trigger' | 'follow_up',
  ): Promise<RunSummary[]> => {
    const key = runKey(tenantId, userId);
    // Your locks' renewFollowUp may throw at once: caught here, or it would end the lease's
    // renewals, and a second run could start beside this. Logged once until a renewal works
    // again: the lease is renewed every few seconds for as long as the run lasts.
    let renewalFailing = false;
    const kept = keepLease(lease, runLeaseMs, clock, async () => {
      if (!renewsFollowUps) return;
      try {
        await locks.renewFollowUp(key, followUpTtlMs);
        renewalFailing = false;
      } catch (error) {
        if (renewalFailing) return;
        renewalFailing = true;
        logger.warn(
          'Renewing a follow-up request failed; it is kept for a day from the last renewal (logged once until a renewal works again).',
          { tenantId, userId, error },
        );
      }
    });
    const signal = AbortSignal.any([kept.signal, stopping.signal]);
    const summaries: RunSummary[] = [];
    try {
      let runId = firstRunId;
      let cause = firstCause;
      for (;;) {
        summaries.push(await runOnce(tenantId, userId, runId, cause, signal));
        if (signal.aborted || !(await locks.takeFollowUp(key))) break;
        runId = randomUUID();
        cause = 'follow_up';
      }
    } catch (error) {
      logger.error('A run failed.', { tenantId, userId, error });
    } finally {
      kept.stop();
      await releaseQuietly(lease);
    }
    if (kept.signal.aborted) {
      // A renewal that threw left what it threw as the reason's cause: logged with it, once.
      const reason = kept.signal.reason as Error;
      if ('cause' in reason) {
        logger.warn('Renewing the run lease failed; the run stopped claiming.', {
          tenantId,
          userId,
          error: reason.cause,
        });
      } else {
        logger.warn('The run lease was lost; the run stopped claiming.', { tenantId, userId });
      }
    }
    // A follow-up asked for between the last look and the release would otherwise wait for
    // the next trigger: run it now.
    if (!stopping.signal.aborted && (await locks.takeFollowUp(key).catch(() => false))) {
      const next = await start(tenantId, userId, 'follow_up').catch(() => undefined);
      if (next?.outcome === 'started') summaries.push(...(await next.finished));
    }
    return summaries;
  };

  const start = async (
    tenantId: string,
    userId: string,
    cause: 'trigger' | 'follow_up',
  ): Promise<TriggerResult> => {
    const key = runKey(tenantId, userId);
    let lease = await locks.acquire(key, runLeaseMs);
    if (!lease) {
      await locks.requestFollowUp(key, followUpTtlMs);
      // The holder may have finished in between: then run now, with our own request taken back.
      lease = await locks.acquire(key, runLeaseMs);
      if (!lease) return { outcome: 'follow_up_scheduled' };
      await locks.takeFollowUp(key);
    }
    // stop() came while the lease was being taken (it waits for this): no run begins after it.
    if (stopping.signal.aborted) {
      await releaseQuietly(lease);
      throw dialerStoppedError();
    }
    const runId = randomUUID();
    const finished = track(runWhileHeld(tenantId, userId, lease, runId, cause));
    return { outcome: 'started', runId, finished };
  };

  /** Applies a valid call event (one from the bus, or checked by handleCallEvent). */
  const applyCallEvent = async (event: CallEvent): Promise<CallEventOutcome> => {
    if (!event.type.startsWith('call.')) return 'unlinked';
    // The provider is kept with the attempt, as part of the call's key. A bus of this version
    // refuses a provider with a control character, but the Redis bus does not check again what
    // it reads, and a process of an earlier version may share it during a rolling deploy.
    if (!isKeyText(event.provider)) {
      throw new InvalidEventError({
        issues: [
          {
            field: 'provider',
            message: 'must not contain a control character or a lone surrogate',
          },
        ],
      });
    }
    let attempt: LeadAttempt | undefined;
    if (event.callId !== undefined) {
      attempt = await store.findAttemptByCall(event.tenantId, event.provider, event.callId);
    }
    const reference = attempt === undefined ? referenceOf(event) : undefined;
    if (reference !== undefined) attempt = await store.getAttempt(event.tenantId, reference);
    if (attempt === undefined) return 'unlinked';
    const ended =
      event.type === 'call.ended' && event.status !== undefined && isTerminalStatus(event.status);
    if (attempt.state === 'ended' || attempt.state === 'released') return 'unchanged';
    if (
      !ended &&
      attempt.state === 'placed' &&
      (event.callId === undefined || attempt.callId === event.callId)
    ) {
      return 'unchanged';
    }
    for (let tries = 0; tries < 4; tries += 1) {
      // The call's webhooks may outrun the provider's answer to the dial (linked by reference):
      // a `claimed` attempt is recorded `placed` first, then `ended`.
      const state = ended && attempt.state !== 'claimed' ? 'ended' : 'placed';
      const result = await store.updateAttempt({
        tenantId: attempt.tenantId,
        leadId: attempt.leadId,
        attemptId: attempt.attemptId,
        fence: attempt.fence,
        state,
        now: clock.now(),
        provider: event.provider,
        ...(event.callId === undefined ? {} : { callId: event.callId }),
        ...(state === 'ended' ? { outcome: event.status } : {}),
      });
      if (result.applied && ended && state === 'placed') {
        attempt = result.attempt;
        continue;
      }
      if (result.applied) {
        if (ended) notifySlot(attempt.tenantId, attempt.userId);
        logger.info(ended ? 'Call ended.' : 'Call linked.', {
          tenantId: attempt.tenantId,
          leadId: attempt.leadId,
          attemptId: attempt.attemptId,
          status: event.status,
        });
        return 'updated';
      }
      // Another process moved the attempt first: look again, unless it moved on for good.
      if (result.reason !== 'stale' || result.attempt === undefined) return 'unchanged';
      if (result.lead?.attemptId !== attempt.attemptId) return 'unchanged';
      attempt = result.attempt;
    }
    return 'unchanged';
  };

  // Your event gets the checks a bus's publish makes (the bus's own events passed them): an id
  // with a control character is refused here as there, before the store would be asked to keep it.
  const handleCallEvent = async (input: CallEvent): Promise<CallEventOutcome> =>
    await applyCallEvent(isSealedCallEvent(input) ? input : parseCallEvent(input));

  /**
   * Asks `lookupCall` about an unknown attempt for at most `placeCallTimeoutMs`, then aborts its
   * signal. Rejects when it throws (at once, too) or does not answer in time: the reconciler
   * reads the oldest expired attempts first, so a lookup it waited on for ever, or whose throw
   * ended each pass, would stop it for good.
   */
  const lookUpCall = (
    lookupCall: NonNullable<DialerOptions['lookupCall']>,
    attempt: LeadAttempt,
  ): ReturnType<typeof lookupCall> =>
    askWithin((signal) => lookupCall(attempt, { signal }), {
      clock,
      timeoutMs: placeCallTimeoutMs,
      name: 'lookupCall',
    });

  /**
   * Orphans expired attempts in one batch (a few round trips for all of them on PostgreSQL and
   * Redis). A batch the store fails is orphaned one attempt at a time instead, so one attempt it
   * cannot write does not hold up the rest, pass after pass.
   */
  const orphanBatch = async (
    batch: OrphanExpiredAttemptsRequest,
    log: LoopPassLog,
  ): Promise<(ExpiredAttemptOutcome | undefined)[]> => {
    if (batch.attempts.length === 0) return [];
    if (store.orphanExpiredAttempts) {
      try {
        const outcomes = await store.orphanExpiredAttempts(batch);
        if (outcomes.length === batch.attempts.length) return outcomes;
        throw new Error(
          `The store answered ${outcomes.length} outcomes for ${batch.attempts.length} attempts.`,
        );
      } catch (error) {
        log.error('Orphaning a batch of expired attempts failed; orphaning them one by one.', {
          attempts: batch.attempts.length,
          error,
        });
      }
    }
    const outcomes: (ExpiredAttemptOutcome | undefined)[] = [];
    for (const attempt of batch.attempts) {
      outcomes.push(
        await orphanExpiredAttempt(store, attempt, clock.now()).catch((error) => {
          log.error('Orphaning an expired attempt failed; the next pass tries again.', {
            tenantId: attempt.tenantId,
            leadId: attempt.leadId,
            attemptId: attempt.attemptId,
            error,
          });
          return undefined;
        }),
      );
    }
    return outcomes;
  };

  // The reconciler and the call-event follower run for as long as the dialer does: a store or a
  // bus whose Redis client has ended fails each of their runs alike, so that is logged once
  // (core's ended-client rule), not at every pass and event.
  const reconcileFailures = createLoopFailureLog(logger, 'Dialer reconciliations');
  const followFailures = createLoopFailureLog(logger, 'Dialer call-event updates');

  const reconcile = async (): Promise<ReconcileReport> => {
    // A pass that had a part fail on an ended client did not work: it says nothing is back.
    const log = reconcileFailures.pass();
    const report = await reconcilePass(log);
    log.end();
    return report;
  };

  const reconcilePass = async (log: LoopPassLog): Promise<ReconcileReport> => {
    const report: ReconcileReport = { orphaned: 0, settled: 0 };
    const expired = await store.listExpiredAttempts({ now: clock.now(), limit: 500 });
    const unsettled: LeadAttempt[] = [];
    const lookedUp: LeadAttempt[] = [];
    for (const attempt of expired) {
      if (attempt.state === 'unknown' && options.lookupCall) lookedUp.push(attempt);
      else unsettled.push(attempt);
    }
    await forEachAtMost(lookedUp, lookupConcurrency, async (attempt) => {
      if (options.lookupCall) {
        const key = {
          tenantId: attempt.tenantId,
          leadId: attempt.leadId,
          attemptId: attempt.attemptId,
          fence: attempt.fence,
        };
        let found = await lookUpCall(options.lookupCall, attempt).catch((error) => {
          logger.warn('lookupCall failed; the attempt is orphaned for review.', { ...key, error });
          return undefined;
        });
        if (found?.placed && found.callId !== undefined && !isCallIdText(found.callId)) {
          logger.warn(
            'lookupCall answered a call id no event or store can keep; the attempt is orphaned for review.',
            key,
          );
          found = undefined;
        }
        if (found !== undefined) {
          const ended = found.placed && isEndedStatus(found.status);
          const call = found.placed
            ? {
                ...(found.callId === undefined ? {} : { callId: found.callId }),
                ...(ended ? { outcome: found.status } : {}),
              }
            : undefined;
          const settled = await write({
            ...key,
            now: clock.now(),
            ...(call
              ? { state: ended ? 'ended' : 'placed', ...call }
              : { state: 'released', reason: 'lookup:not_placed' }),
          });
          if (settled?.applied) {
            report.settled += 1;
            notifySlot(attempt.tenantId, attempt.userId);
            return;
          }
          // Its lead is gone or on another attempt: orphaned on its own, with what the lookup
          // learned (the batch below would orphan it without).
          if (call && settled && settled.lead?.attemptId !== attempt.attemptId) {
            if (await orphanCutOff(attempt, settled, call, log)) {
              report.orphaned += 1;
              return;
            }
          }
        }
      }
      unsettled.push(attempt);
    });
    // Taken over (the lead's fence rises), or, when its lead was deleted or is on another attempt
    // now (your app reset the row), orphaned on its own: left as it is, it would come back first
    // in every read, 500 of them starving the reconciler.
    const outcomes = await orphanBatch(
      {
        now: clock.now(),
        attempts: unsettled.map((attempt) => ({
          tenantId: attempt.tenantId,
          leadId: attempt.leadId,
          attemptId: attempt.attemptId,
          fence: attempt.fence,
          reason: attempt.state === 'claimed' ? 'lease_expired' : 'unsettled',
        })),
      },
      log,
    );
    for (const [index, attempt] of unsettled.entries()) {
      const outcome = outcomes[index];
      if (outcome === undefined || outcome === 'unchanged') continue;
      report.orphaned += 1;
      notifySlot(attempt.tenantId, attempt.userId);
      logger.warn(
        outcome === 'orphaned'
          ? 'Attempt orphaned for review; the lead is not redialled.'
          : 'Attempt orphaned for review: its lead is gone or on another attempt.',
        {
          tenantId: attempt.tenantId,
          leadId: attempt.leadId,
          attemptId: attempt.attemptId,
          fence: attempt.fence,
        },
      );
    }
    await settlePlacedAttempts(report, log);
    return report;
  };

  /**
   * Asks `lookupCall` about `placed` attempts whose end has not come for `lookupPlacedAfterMs`:
   * their `call.ended` may have been published while no dialer followed the bus, and the
   * dialer's subscription (every tenant's events) has no cursor to resume from. An ended call is
   * recorded `ended`; any other answer (none, too) leaves the attempt placed, its `updatedAt`
   * moved on (a `placed → placed` write), so it is asked again only after as long, behind every
   * attempt that waited longer. One whose lead is gone or on another attempt is orphaned on its
   * own (`lead_gone` / `lead_moved_on`), as the expired ones are.
   */
  const settlePlacedAttempts = async (report: ReconcileReport, log: LoopPassLog): Promise<void> => {
    const lookupCall = options.lookupCall;
    if (lookupCall === undefined || typeof store.listPlacedAttempts !== 'function') return;
    const now = clock.now();
    const placed = await store.listPlacedAttempts({
      updatedBefore: now - lookupPlacedAfterMs,
      claimedAfter: now - placedLookupHorizonMs,
      limit: 100,
    });
    await forEachAtMost(placed, lookupConcurrency, async (attempt) => {
      const key = {
        tenantId: attempt.tenantId,
        leadId: attempt.leadId,
        attemptId: attempt.attemptId,
        fence: attempt.fence,
      };
      const found = await lookUpCall(lookupCall, attempt).catch((error) => {
        logger.warn('lookupCall failed about a placed call; asked again later.', { ...key, error });
        return undefined;
      });
      const ended = found?.placed === true && isEndedStatus(found.status);
      const callId =
        found?.placed === true && attempt.callId === undefined && isCallIdText(found.callId)
          ? found.callId
          : undefined;
      const result = await store
        .updateAttempt({
          ...key,
          state: ended ? 'ended' : 'placed',
          now: clock.now(),
          ...(callId === undefined ? {} : { callId }),
          ...(ended ? { outcome: found.status } : {}),
        })
        .catch((error) => {
          log.error('Recording a looked-up call failed.', { ...key, error });
          return undefined;
        });
      if (ended && result?.applied) {
        report.settled += 1;
        notifySlot(attempt.tenantId, attempt.userId);
        logger.info('Call ended (looked up: its end was not seen on the bus).', {
          ...key,
          status: found.status,
        });
      }
      if (result === undefined || result.applied || result.lead?.attemptId === attempt.attemptId) {
        return;
      }
      // Its lead was deleted, or is on another attempt now (your app reset the row): no write
      // moves the attempt any more, so left placed, with its old `updatedAt`, it would be listed
      // first and asked about on every pass for a day, 100 of them starving the rest. It keeps
      // what the lookup learned (how the call ended).
      const call = {
        ...(callId === undefined ? {} : { callId }),
        ...(ended ? { outcome: found.status } : {}),
      };
      if (await orphanCutOff(attempt, result, call, log)) report.orphaned += 1;
    });
  };

  /**
   * Orphans an attempt a refused write found cut off from its lead (deleted, or on another
   * attempt), keeping what `lookupCall` learned of its call. True when it orphaned it.
   */
  const orphanCutOff = async (
    attempt: LeadAttempt,
    refused: AttemptUpdateResult,
    call: NonNullable<DetachedAttempt['call']>,
    log: LoopPassLog,
  ): Promise<boolean> => {
    const key = {
      tenantId: attempt.tenantId,
      leadId: attempt.leadId,
      attemptId: attempt.attemptId,
      fence: attempt.fence,
    };
    const orphaned = await store
      .orphanDetachedAttempt({
        tenantId: attempt.tenantId,
        leadId: attempt.leadId,
        attemptId: attempt.attemptId,
        now: clock.now(),
        reason: refused.lead === undefined ? 'lead_gone' : 'lead_moved_on',
        ...(call.callId === undefined && call.outcome === undefined ? {} : { call }),
      })
      .catch((error) => {
        log.error('Orphaning an attempt cut off from its lead failed.', { ...key, error });
        return undefined;
      });
    if (orphaned === undefined) return false;
    notifySlot(attempt.tenantId, attempt.userId);
    logger.warn('Attempt orphaned for review: its lead is gone or on another attempt.', key);
    return true;
  };

  const followCallEvents = async (): Promise<void> => {
    const subscribe = bus.subscribe;
    if (!subscribe) {
      followingLive();
      return;
    }
    while (!stopping.signal.aborted) {
      try {
        const subscription = subscribe.call(bus, {
          allTenants: true,
          types: ['call.*', ...runEventTypes],
          signal: stopping.signal,
        });
        subscription.ready.then(
          () => {
            followFailures.worked();
            followingLive();
          },
          () => {},
        );
        for await (const message of subscription) {
          if (message.type !== 'event') continue;
          if (message.event.type.startsWith('dialer.')) {
            foldRunEvent(message.event);
            continue;
          }
          await applyCallEvent(message.event).then(
            () => followFailures.worked(),
            (error: unknown) =>
              followFailures.failed('Applying a call event failed.', {
                eventId: message.event.id,
                error,
              }),
          );
        }
      } catch (error) {
        followFailures.failed('Following call events failed; following again.', { error });
      }
      await clock.sleep(1_000, stopping.signal);
    }
  };

  const reconcileLoop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      await clock.sleep(reconcileIntervalMs, stopping.signal);
      if (stopping.signal.aborted) return;
      await reconcile().catch((error: unknown) =>
        reconcileFailures.failed('Reconciling failed.', { error }),
      );
    }
  };

  return {
    async trigger(principal) {
      const parsed = principalSchema.safeParse(principal);
      if (!parsed.success || parsed.data.userId === undefined) {
        throw new InvalidArgumentError({
          message: 'trigger needs a principal with a tenantId and a userId: runs are per user.',
        });
      }
      if (stopping.signal.aborted) throw dialerStoppedError();
      // Tracked, so stop() waits for a trigger still taking its run lease.
      return await track(start(parsed.data.tenantId, parsed.data.userId, 'trigger'));
    },
    handleCallEvent,
    reconcile,
    getRun(tenantId, runId) {
      const entry = runs.get(runEntryKey(tenantId, runId));
      if (entry === undefined) return undefined;
      return entry.run.state === 'running' ? { ...entry.run, ...entry.counts } : { ...entry.run };
    },
    async releaseAttempt(tenantId, attemptId, reason = 'review:released') {
      if (typeof reason !== 'string' || !isStorableText(reason)) {
        throw new InvalidArgumentError({
          message: 'A reason with a NUL or a lone surrogate cannot be stored.',
        });
      }
      const attempt = await store.getAttempt(tenantId, attemptId);
      if (!attempt) throw new NotFoundError({ message: `No attempt ${attemptId}.` });
      const result = await store.updateAttempt({
        tenantId,
        leadId: attempt.leadId,
        attemptId,
        fence: attempt.fence,
        state: 'released',
        now: clock.now(),
        reason,
      });
      if (result.applied) notifySlot(tenantId, attempt.userId);
      return result;
    },
    followUser(followOptions) {
      return followUserUpdates({ bus, store, referenceOf, ...followOptions });
    },
    start() {
      if (started || stopping.signal.aborted) return following;
      started = true;
      track(followCallEvents());
      track(reconcileLoop());
      return following;
    },
    async stop() {
      stopping.abort();
      followingLive();
      while (background.size > 0) await Promise.allSettled([...background]);
    },
  };
}

/** The events a run publishes, which `start()` folds into other processes' runs for getRun. */
const runEventTypes = [
  'dialer.run_started',
  'dialer.lead_skipped',
  'dialer.call_placed',
  'dialer.run_finished',
] as const;

/**
 * A call id or provider as an event carries them (what the webhooks of the call will bring, and
 * what every store keeps as it is): text of 1–256 (a provider, 1–64) characters, no control
 * character or lone surrogate.
 */
const isCallIdText = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 256 && isKeyText(value);

/**
 * The id of a lead's `dialer.lead_skipped` in a run: `dialer:<runId>:skipped:<leadId>`, or, for
 * a lead id too long for an event id (256 characters; lead ids may have 256 themselves), its
 * SHA-256 under another name (`skipped-sha256:`), which no id of the first form can equal.
 */
function skippedEventId(runId: string, leadId: string): string {
  const id = `dialer:${runId}:skipped:${leadId}`;
  if (id.length <= 256) return id;
  return `dialer:${runId}:skipped-sha256:${createHash('sha256').update(leadId).digest('hex')}`;
}

/**
 * The adapter's answer to a dial, or, once `timeout` aborts first, a rejection (`timeout`, an
 * ambiguous failure): an adapter that ignores its signal (over an SDK that takes none) whose
 * request never comes back would hold the run, and the user's run lease, for good. An answer
 * after that is dropped; the call's webhooks or `lookupCall` settle the attempt.
 */
function answerWithin<T>(
  placing: T | Promise<T>,
  timeout: AbortSignal,
  timeoutMs: number,
): Promise<T> {
  // An adapter of plain JavaScript may answer without a promise.
  const answer = Promise.resolve(placing);
  answer.catch(() => {}); // An answer after the timeout is no one's to handle.
  return new Promise<T>((resolve, reject) => {
    const onTimeout = (): void =>
      reject(
        new CallTrackError({
          message: `placeCall did not answer within ${timeoutMs} ms.`,
          code: 'timeout',
          status: 504,
        }),
      );
    if (timeout.aborted) return onTimeout();
    timeout.addEventListener('abort', onTimeout, { once: true });
    answer.then(
      (value) => {
        timeout.removeEventListener('abort', onTimeout);
        resolve(value);
      },
      (error: unknown) => {
        timeout.removeEventListener('abort', onTimeout);
        reject(error);
      },
    );
  });
}

/** What `trigger` answers once `stop()` was called (503: another process may take it). */
const dialerStoppedError = (): CallTrackError =>
  new CallTrackError({ message: 'The dialer is stopped.', code: 'dialer_stopped', status: 503 });

/** A status `lookupCall` answered that ends the call. */
const isEndedStatus = (status: unknown): status is CallStatus =>
  typeof status === 'string' && isTerminalStatus(status as CallStatus);

const answerParts = { answer: 'an answer', provider: 'a provider name', call_id: 'a call id' };

/** The part of a `placeCall` answer no event or store can keep, if any. */
function unusablePlacedCallField(placed: unknown): 'answer' | 'provider' | 'call_id' | undefined {
  if (placed === null || typeof placed !== 'object') return 'answer';
  const { provider, callId } = placed as { provider?: unknown; callId?: unknown };
  if (!isCallIdText(provider) || provider.length > 64) return 'provider';
  if (callId !== undefined && !isCallIdText(callId)) return 'call_id';
  return undefined;
}

/** Whether a claimed lead has the owner, number and zone its gates checked. */
const isAsChecked = (claimed: Lead, checked: Lead): boolean =>
  claimed.userId === checked.userId &&
  claimed.phoneNumber === checked.phoneNumber &&
  claimed.timeZone === checked.timeZone;

const noCounts = (): Counts => ({ placed: 0, skipped: 0, refused: 0, unknown: 0, notClaimed: 0 });

function checkOptions(options: DialerOptions): void {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'createDialer needs options.' });
  }
  if (options.store == null) {
    throw new InvalidArgumentError({ message: 'createDialer needs { store }: a LeadStore.' });
  }
  if (options.bus == null || typeof options.bus.publish !== 'function') {
    throw new InvalidArgumentError({
      message: 'createDialer needs { bus }: something with publish().',
    });
  }
  if (!Array.isArray(options.accounts) || options.accounts.length === 0) {
    throw new InvalidArgumentError({
      message: 'createDialer needs { accounts }: at least one { id, control } provider account.',
    });
  }
  // A setting that is no number (NaN, read from an unset environment variable) would turn its
  // rule off quietly: NaN caps no attempts, holds no gap, keeps no lease.
  const checkNumber = (name: keyof DialerOptions, least: number, whole: boolean): void => {
    const value = options[name];
    if (value === undefined) return;
    if (
      typeof value !== 'number' ||
      !(value >= least) ||
      !Number.isFinite(value) ||
      (whole && !Number.isInteger(value))
    ) {
      throw new InvalidArgumentError({
        message: `${name} must be a ${whole ? 'whole number' : 'number'} from ${least}, got ${String(value)}.`,
      });
    }
  };
  for (const name of [
    'liveCallMaxMs',
    'attemptLeaseMs',
    'unknownSettleMs',
    'lookupPlacedAfterMs',
    'runLeaseMs',
    'leadLeaseMs',
    'placeCallTimeoutMs',
    'hookTimeoutMs',
    'reconcileIntervalMs',
  ] as const) {
    checkNumber(name, 1, false);
  }
  // What becomes a timer's delay: Node runs a longer one after 1 ms (a reconciler that spins,
  // every hook and dial timed out at once).
  for (const name of ['placeCallTimeoutMs', 'hookTimeoutMs', 'reconcileIntervalMs'] as const) {
    const value = options[name];
    if (value !== undefined && value > longestTimerDelayMs) {
      throw new InvalidArgumentError({
        message: `${name} must be at most ${longestTimerDelayMs} ms (about 24.8 days), got ${value}.`,
      });
    }
  }
  checkNumber('minAttemptGapMs', 0, false);
  checkNumber('maxAttempts', 1, true);
  checkNumber('pageSize', 1, true);
  // No cap at all is Infinity (fewer calls in flight than that, always).
  if (options.maxConcurrentCallsPerUser !== Number.POSITIVE_INFINITY) {
    checkNumber('maxConcurrentCallsPerUser', 1, true);
  }
  // Wrong, it would skip every lead without a zone as invalid_time_zone, run after run.
  const { defaultTimeZone } = options;
  if (
    defaultTimeZone !== undefined &&
    (typeof defaultTimeZone !== 'string' ||
      (defaultTimeZone !== '' && !isValidTimeZone(defaultTimeZone)))
  ) {
    throw new InvalidArgumentError({
      message: `defaultTimeZone must be an IANA time zone (America/New_York), got ${JSON.stringify(defaultTimeZone)}.`,
    });
  }
  const ids = new Set<string>();
  for (const account of options.accounts) {
    if (typeof account?.id !== 'string' || account.id === '' || ids.has(account.id)) {
      throw new InvalidArgumentError({ message: 'Every account needs its own non-empty id.' });
    }
    pacingSchedule(account.callsPerSecond ?? 1);
    if (typeof account.control?.placeCall !== 'function') {
      throw new InvalidArgumentError({
        message: `Account ${account.id} needs a control: a CallControl adapter.`,
      });
    }
    ids.add(account.id);
  }
}
