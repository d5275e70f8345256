import type { CallSnapshot } from '@calltrack/core';
import type { ActiveCallCount } from './active-call-count';
import { activeListCursorOf, isListedAfter } from './active-list-cursor';
import { applyCallTransition } from './apply-call-transition';
import type {
  CallApplyResult,
  CallEventKey,
  CallStore,
  ListActiveCallsQuery,
  ListEndedCallsQuery,
  UnpublishedEnd,
} from './call-store';
import type { CallTransition } from './call-transition';
import { createMemoryAnalytics, type MemoryAnalytics } from './create-memory-analytics';
import { effectiveDurationMs } from './effective-duration-ms';
import { staleAfterMsOf } from './stale-after-ms-of';
import type { StoredCall } from './stored-call';
import { toCallSnapshot } from './to-call-snapshot';

interface TenantState {
  calls: Map<string, StoredCall>;
  active: Map<string, StoredCall>;
  branches: Map<string, number>;
  /** callId → lease deadline of its unconfirmed `call.ended`. */
  outbox: Map<string, number>;
  /** Inactive calls to forget, roughly in expiry order (entries may be out of date). */
  expiries: { callId: string; expiresAt: number }[];
  expiriesHead: number;
  /** Ended calls by the time their ends were decided (entries of forgotten calls are skipped). */
  ended: { callId: string; branchId: string | undefined; at: number }[];
  endedHead: number;
  alerts: Map<string, number>;
  analytics: MemoryAnalytics;
}

/**
 * A call store for one process: the default of `createCallTracker`. Transitions run
 * synchronously, so they are atomic within the process. Ended calls are forgotten
 * `endedCallRetentionMs` after their last change: dropped whenever a transition is applied or
 * stale calls are looked for, and left out of reads at a later time before that. Memory per
 * active call is measured in `bench/tracker-ingest`.
 */
export function createMemoryCallStore(): CallStore {
  const tenants = new Map<string, TenantState>();

  const tenantOf = (tenantId: string): TenantState => {
    let tenant = tenants.get(tenantId);
    if (!tenant) {
      tenant = {
        calls: new Map(),
        active: new Map(),
        branches: new Map(),
        outbox: new Map(),
        expiries: [],
        expiriesHead: 0,
        ended: [],
        endedHead: 0,
        alerts: new Map(),
        analytics: createMemoryAnalytics(),
      };
      tenants.set(tenantId, tenant);
    }
    return tenant;
  };

  const prune = (tenant: TenantState, now: number): void => {
    while (tenant.expiriesHead < tenant.expiries.length) {
      const entry = tenant.expiries[tenant.expiriesHead]!;
      if (entry.expiresAt > now) break;
      tenant.expiriesHead += 1;
      const call = tenant.calls.get(entry.callId);
      if (call?.expiresAt !== undefined && call.expiresAt <= now) {
        tenant.calls.delete(entry.callId);
        tenant.outbox.delete(entry.callId);
      }
    }
    if (tenant.expiriesHead > 1024 && tenant.expiriesHead * 2 > tenant.expiries.length) {
      tenant.expiries = tenant.expiries.slice(tenant.expiriesHead);
      tenant.expiriesHead = 0;
    }
    // Ends are decided roughly in expiry order, so forgotten calls gather at the front.
    while (
      tenant.endedHead < tenant.ended.length &&
      !tenant.calls.has(tenant.ended[tenant.endedHead]!.callId)
    ) {
      tenant.endedHead += 1;
    }
    if (tenant.endedHead > 1024 && tenant.endedHead * 2 > tenant.ended.length) {
      tenant.ended = tenant.ended.slice(tenant.endedHead);
      tenant.endedHead = 0;
    }
  };

  /** Keeps `ended` ordered by decision time; ends arrive in that order, so this is an append. */
  const insertEnded = (tenant: TenantState, entry: TenantState['ended'][number]): void => {
    let index = tenant.ended.length;
    while (index > tenant.endedHead && tenant.ended[index - 1]!.at > entry.at) index -= 1;
    tenant.ended.splice(index, 0, entry);
  };

  const changeBranchCount = (tenant: TenantState, branchId: string, delta: number): void => {
    const count = (tenant.branches.get(branchId) ?? 0) + delta;
    if (count > 0) tenant.branches.set(branchId, count);
    else tenant.branches.delete(branchId);
  };

  const apply = async (transition: CallTransition): Promise<CallApplyResult> => {
    const tenant = tenantOf(transition.tenantId);
    const { at, settings } = transition;
    prune(tenant, at);
    const applied = applyCallTransition(tenant.calls.get(transition.callId), transition);
    const { call, outcome } = applied;
    if (!call) return { outcome };
    tenant.calls.set(call.callId, call);
    const result: CallApplyResult = { outcome, call: toCallSnapshot(call) };
    if (outcome === 'unpublished' && call.endEventId === transition.eventId) {
      tenant.outbox.set(call.callId, at + settings.publishLeaseMs);
    }
    if (
      outcome === 'unpublished' &&
      call.activationEventId === transition.eventId &&
      tenant.active.has(call.callId)
    ) {
      result.activated = true;
      result.activeCount = tenant.active.size;
    }
    if (outcome === 'duplicate' || outcome === 'unpublished' || outcome === 'skipped') {
      return result;
    }
    if (applied.isActive && outcome !== 'ignored') {
      call.staleAt = at + staleAfterMsOf(call.status, settings);
    } else if (!applied.isActive) {
      delete call.staleAt;
    }

    if (applied.wasActive && applied.isActive && call.branchId !== applied.previousBranchId) {
      changeBranchCount(tenant, call.branchId!, 1);
    }
    if (!applied.wasActive && applied.isActive) {
      tenant.active.set(call.callId, call);
      if (call.branchId !== undefined) changeBranchCount(tenant, call.branchId, 1);
      result.activated = true;
      result.activeCount = tenant.active.size;
      tenant.analytics.recordLevel(tenant.active.size, 1, at, settings);
    }
    if (applied.wasActive && !applied.isActive) {
      tenant.active.delete(call.callId);
      // Counted under the branch it had while active (one learned just now was never counted).
      if (applied.previousBranchId !== undefined) {
        changeBranchCount(tenant, applied.previousBranchId, -1);
      }
      result.activeCount = tenant.active.size;
      tenant.analytics.recordLevel(tenant.active.size, -1, at, settings);
    }
    if (outcome === 'ended') {
      insertEnded(tenant, { callId: call.callId, branchId: call.branchId, at });
      tenant.outbox.set(call.callId, at + settings.publishLeaseMs);
      const durationMs = effectiveDurationMs(call) ?? 0;
      tenant.analytics.recordEnd(
        {
          status: call.status!,
          durationMs,
          answered: call.answeredAt !== undefined || durationMs > 0,
          neverActive: !applied.wasActive,
          ...(call.agentId === undefined ? {} : { agentId: call.agentId }),
        },
        at,
        settings,
      );
    }
    if (call.expiresAt !== undefined && outcome !== 'ignored') {
      tenant.expiries.push({ callId: call.callId, expiresAt: call.expiresAt });
    }
    return result;
  };

  const markPublished = async ({ tenantId, callId, eventId }: CallEventKey): Promise<void> => {
    const tenant = tenants.get(tenantId);
    const call = tenant?.calls.get(callId);
    if (!tenant || !call || typeof call.events.get(eventId) !== 'number') return;
    call.events.set(eventId, 'done');
    if (call.endEventId === eventId) {
      delete call.endEvent;
      tenant.outbox.delete(callId);
    }
  };

  const markPublishFailed = async ({ tenantId, callId, eventId }: CallEventKey): Promise<void> => {
    const tenant = tenants.get(tenantId);
    const call = tenant?.calls.get(callId);
    if (!tenant || !call || typeof call.events.get(eventId) !== 'number') return;
    call.events.set(eventId, 0);
    if (call.endEventId === eventId) tenant.outbox.set(callId, 0);
  };

  /** Whether the store keeps `call` at `now`: pruning runs on changes, reads must not wait for it. */
  const isKept = (call: StoredCall | undefined, now: number): call is StoredCall =>
    call !== undefined && (call.expiresAt === undefined || call.expiresAt > now);

  const getCall = async (
    tenantId: string,
    callId: string,
    now: number,
  ): Promise<CallSnapshot | undefined> => {
    const call = tenants.get(tenantId)?.calls.get(callId);
    return isKept(call, now) ? toCallSnapshot(call) : undefined;
  };

  const listActiveCalls = async (
    tenantId: string,
    query: ListActiveCallsQuery,
  ): Promise<CallSnapshot[]> => {
    const tenant = tenants.get(tenantId);
    if (!tenant) return [];
    const cursor = activeListCursorOf(query);
    const calls: StoredCall[] = [];
    for (const call of tenant.active.values()) {
      if (query.branchId !== undefined && call.branchId !== query.branchId) continue;
      if (
        query.userId !== undefined &&
        call.agentId !== query.userId &&
        call.userId !== query.userId
      ) {
        continue;
      }
      if (cursor !== undefined && !isListedAfter(call.startedAt ?? 0, call.callId, cursor)) {
        continue;
      }
      calls.push(call);
    }
    calls.sort(
      (a, b) =>
        (b.startedAt ?? 0) - (a.startedAt ?? 0) ||
        (a.callId < b.callId ? 1 : a.callId > b.callId ? -1 : 0),
    );
    return calls.slice(0, query.limit).map(toCallSnapshot);
  };

  const countActiveCalls = async (tenantId: string): Promise<ActiveCallCount> => {
    const tenant = tenants.get(tenantId);
    return {
      total: tenant?.active.size ?? 0,
      byBranch: Object.fromEntries(tenant?.branches ?? []),
    };
  };

  const listEndedCalls = async (
    tenantId: string,
    query: ListEndedCallsQuery,
  ): Promise<CallSnapshot[]> => {
    const tenant = tenants.get(tenantId);
    if (!tenant) return [];
    const calls: CallSnapshot[] = [];
    for (let index = tenant.ended.length - 1; index >= tenant.endedHead; index -= 1) {
      const { callId, branchId } = tenant.ended[index]!;
      if (query.branchId !== undefined && branchId !== query.branchId) continue;
      const call = tenant.calls.get(callId);
      if (!isKept(call, query.now)) continue;
      calls.push(toCallSnapshot(call));
      if (calls.length >= query.limit) break;
    }
    return calls;
  };

  const findStaleCalls = async (
    tenantId: string,
    now: number,
    limit: number,
  ): Promise<CallSnapshot[]> => {
    const tenant = tenants.get(tenantId);
    if (!tenant) return [];
    prune(tenant, now);
    // Every active call has one: the transition that made it active set it.
    const staleAt = (call: StoredCall): number => call.staleAt ?? Number.POSITIVE_INFINITY;
    return [...tenant.active.values()]
      .filter((call) => staleAt(call) < now)
      .sort((a, b) => staleAt(a) - staleAt(b))
      .slice(0, limit)
      .map(toCallSnapshot);
  };

  const claimUnpublishedEnds = async (
    tenantId: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<UnpublishedEnd[]> => {
    const tenant = tenants.get(tenantId);
    if (!tenant) return [];
    const claimed: UnpublishedEnd[] = [];
    for (const [callId, deadline] of tenant.outbox) {
      if (claimed.length >= limit) break;
      if (deadline > now) continue;
      const call = tenant.calls.get(callId);
      if (!call?.endEvent || call.endEventId === undefined) {
        tenant.outbox.delete(callId);
        continue;
      }
      tenant.outbox.set(callId, now + leaseMs);
      call.events.set(call.endEventId, now + leaseMs);
      claimed.push({ event: structuredClone(call.endEvent), call: toCallSnapshot(call) });
    }
    return claimed;
  };

  const claimAlert = async (
    tenantId: string,
    key: string,
    ttlMs: number,
    now: number,
  ): Promise<boolean> => {
    const { alerts } = tenantOf(tenantId);
    const until = alerts.get(key);
    if (until !== undefined && until > now) return false;
    if (alerts.size > 1000) for (const [other, end] of alerts) if (end <= now) alerts.delete(other);
    alerts.set(key, now + ttlMs);
    return true;
  };

  const claimCallAlert = async (tenantId: string, callId: string, rule: string) => {
    const call = tenants.get(tenantId)?.active.get(callId);
    if (!call || call.alerts?.has(rule)) return false;
    call.alerts ??= new Set();
    call.alerts.add(rule);
    return true;
  };

  const releaseCallAlert = async (tenantId: string, callId: string, rule: string) => {
    tenants.get(tenantId)?.calls.get(callId)?.alerts?.delete(rule);
  };

  const releaseAlert = async (tenantId: string, key: string): Promise<void> => {
    tenants.get(tenantId)?.alerts.delete(key);
  };

  return {
    apply,
    markPublished,
    markPublishFailed,
    getCall,
    listActiveCalls,
    countActiveCalls,
    listEndedCalls,
    listTenants: async () => [...tenants.keys()],
    findStaleCalls,
    claimUnpublishedEnds,
    readAnalytics: async (tenantId, granularity, from, to) =>
      tenants.get(tenantId)?.analytics.read(granularity, from, to) ?? [],
    claimAlert,
    releaseAlert,
    claimCallAlert,
    releaseCallAlert,
  };
}
