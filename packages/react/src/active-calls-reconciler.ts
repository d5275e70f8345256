import type { CallEvent, CallSnapshot } from '@calltrack/core';

/** Options of {@link createActiveCallsReconciler}. @internal */
export interface ActiveCallsReconcilerOptions {
  /** How many ended calls to remember, so an older snapshot cannot bring them back. Default 1,000. */
  maxTombstones?: number;
}

/**
 * The client's view of the active calls, merged from two sources that race each other: full
 * snapshots (loaded on connect, reset and refresh) and the call snapshot each live event carries.
 * A call is its tenant's id and its call id: an all-tenants console may hold two tenants' calls
 * with the same provider id.
 * @internal
 */
export interface ActiveCallsReconciler {
  /**
   * Applies a live event: its `data.call` when it carries one, else a bare `call.ended` removes
   * the call. Returns the event's call snapshot (undefined when it carries none) and whether the
   * active calls changed.
   */
  applyEvent(event: CallEvent): { call: CallSnapshot | undefined; changed: boolean };
  /**
   * Marks the start of a reload (a refresh, a reset, a connection that opens): calls that live
   * events touch from now on survive the next snapshot even when it does not list them (it was
   * read before those events); calls touched before may have ended unseen, and do not.
   */
  beginReload(): void;
  /** Replaces the active calls with `snapshot`, merged with what is newer here. */
  applySnapshot(snapshot: readonly CallSnapshot[]): void;
  /**
   * The active call `callId` of `tenantId`; without a tenant, the active call of that id in any
   * tenant (a single-tenant client holds one tenant).
   */
  get(callId: string, tenantId?: string): CallSnapshot | undefined;
  /** The active calls, newest first (by `startedAt`, else `createdAt`). */
  list(): CallSnapshot[];
  /** How many calls live events touched since the reload began (at most the active ones). */
  touchedCount(): number;
}

const defaultMaxTombstones = 1_000;

/**
 * How many ended calls the client remembers (the reconciler's tombstones, `useCallCompleted`'s
 * fired calls): a long-open wallboard must not grow without bound. @internal
 */
export const maxRememberedEndedCalls = defaultMaxTombstones;

/**
 * One key for a call of a tenant. Tenant ids hold no control characters (core's
 * `tenantIdPattern`), so the NUL between the two parts keeps every pair apart. @internal
 */
export function callKey(tenantId: string, callId: string): string {
  return `${tenantId}\u0000${callId}`;
}

/**
 * Creates the reconciler. The rules, so the list never moves backwards:
 *
 * - Of two snapshots of one call the higher `version` wins; an equal version keeps the object
 *   already held (so views selecting one call do not re-render for nothing).
 * - A call that ended is remembered with the version it ended at (a tombstone, up to
 *   `maxTombstones`); a snapshot that still lists it at that version or lower does not bring it
 *   back.
 * - A call brought in by a live event while a snapshot was loading stays, though the snapshot
 *   (read earlier) does not list it.
 *
 * Calls are told apart by tenant and call id (`callKey`): one tenant's end never removes or
 * buries another tenant's call with the same id.
 *
 * @internal
 */
export function createActiveCallsReconciler(
  options: ActiveCallsReconcilerOptions = {},
): ActiveCallsReconciler {
  const maxTombstones = options.maxTombstones ?? defaultMaxTombstones;
  /** Call id → tenant id → call: `get` without a tenant finds a call by its id alone. */
  let calls = new Map<string, Map<string, CallSnapshot>>();
  /** `callKey` → version at which the call ended. */
  const tombstones = new Map<string, number>();
  /**
   * Active calls changed by live events since the last reload began, by `callKey`. Only held
   * calls count (a snapshot keeps what it misses of those alone), so the map never outgrows the
   * active calls.
   */
  let touchedSinceReload = new Map<string, { tenantId: string; callId: string }>();

  const held = (tenantId: string, callId: string): CallSnapshot | undefined =>
    calls.get(callId)?.get(tenantId);
  const hold = (call: CallSnapshot): void => {
    let ofTenants = calls.get(call.callId);
    if (ofTenants === undefined) {
      ofTenants = new Map();
      calls.set(call.callId, ofTenants);
    }
    ofTenants.set(call.tenantId, call);
  };
  /** Removes a held call; true when it was held. */
  const release = (tenantId: string, callId: string): boolean => {
    const ofTenants = calls.get(callId);
    if (ofTenants === undefined || !ofTenants.delete(tenantId)) return false;
    if (ofTenants.size === 0) calls.delete(callId);
    return true;
  };
  const touch = (tenantId: string, callId: string): void => {
    const key = callKey(tenantId, callId);
    if (held(tenantId, callId)) touchedSinceReload.set(key, { tenantId, callId });
    else touchedSinceReload.delete(key);
  };

  const isBuried = (call: CallSnapshot): boolean => {
    const endedAt = tombstones.get(callKey(call.tenantId, call.callId));
    return endedAt !== undefined && endedAt >= call.version;
  };

  const bury = (call: CallSnapshot): void => {
    const key = callKey(call.tenantId, call.callId);
    tombstones.delete(key);
    tombstones.set(key, call.version);
    if (tombstones.size > maxTombstones) {
      const oldest = tombstones.keys().next().value;
      if (oldest !== undefined) tombstones.delete(oldest);
    }
  };

  /** Applies one call snapshot from a live event; true when it changed the active calls. */
  const applyCall = (call: CallSnapshot, ended: boolean): boolean => {
    if (isBuried(call)) return false;
    const current = held(call.tenantId, call.callId);
    if (current && current.version >= call.version) return false;
    if (ended || call.active === false) {
      release(call.tenantId, call.callId);
      bury(call);
      return current !== undefined;
    }
    hold(call);
    return true;
  };

  return {
    applyEvent(event) {
      const call = eventCall(event);
      const ended = event.type === 'call.ended';
      if (call) {
        const changed = applyCall(call, ended);
        touch(call.tenantId, call.callId);
        return { call, changed };
      }
      if (ended && event.callId !== undefined && release(event.tenantId, event.callId)) {
        touchedSinceReload.delete(callKey(event.tenantId, event.callId));
        return { call: undefined, changed: true };
      }
      return { call: undefined, changed: false };
    },
    beginReload() {
      touchedSinceReload = new Map();
    },
    applySnapshot(snapshot) {
      const previous = calls;
      const previousCall = (tenantId: string, callId: string) =>
        previous.get(callId)?.get(tenantId);
      calls = new Map();
      for (const call of snapshot) {
        if (isBuried(call) || call.active === false) continue;
        const current = previousCall(call.tenantId, call.callId);
        hold(current && current.version >= call.version ? current : call);
      }
      for (const { tenantId, callId } of touchedSinceReload.values()) {
        const current = previousCall(tenantId, callId);
        if (current && !held(tenantId, callId)) hold(current);
      }
    },
    get(callId, tenantId) {
      const ofTenants = calls.get(callId);
      if (tenantId !== undefined) return ofTenants?.get(tenantId);
      return ofTenants?.values().next().value;
    },
    list: () =>
      [...calls.values()].flatMap((ofTenants) => [...ofTenants.values()]).sort(newestFirst),
    touchedCount: () => touchedSinceReload.size,
  };
}

/** The call snapshot a tracked event carries in `data.call`, when it has a usable one. */
function eventCall(event: CallEvent): CallSnapshot | undefined {
  // Transports parse JSON without validating it: check what the merge relies on.
  const call: unknown = event.data?.call;
  if (call === null || typeof call !== 'object') return undefined;
  const candidate = call as Partial<CallSnapshot>;
  if (typeof candidate.callId !== 'string' || typeof candidate.version !== 'number') {
    return undefined;
  }
  return call as CallSnapshot;
}

function newestFirst(a: CallSnapshot, b: CallSnapshot): number {
  const left = a.startedAt ?? a.createdAt ?? '';
  const right = b.startedAt ?? b.createdAt ?? '';
  return left < right ? 1 : left > right ? -1 : 0;
}
