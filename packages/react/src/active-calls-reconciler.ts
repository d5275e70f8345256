import type { CallEvent, CallSnapshot } from '@calltrack/core';

/** Options of {@link createActiveCallsReconciler}. @internal */
export interface ActiveCallsReconcilerOptions {
  /** How many ended calls to remember, so an older snapshot cannot bring them back. Default 1,000. */
  maxTombstones?: number;
}

/**
 * The client's view of the active calls, merged from two sources that race each other: full
 * snapshots (loaded on connect, reset and refresh) and the call snapshot each live event carries.
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
  /** The active call `callId`, if any. */
  get(callId: string): CallSnapshot | undefined;
  /** The active calls, newest first (by `startedAt`, else `createdAt`). */
  list(): CallSnapshot[];
  /** How many calls live events touched since the reload began (at most the active ones). */
  touchedCount(): number;
}

const defaultMaxTombstones = 1_000;

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
 * @internal
 */
export function createActiveCallsReconciler(
  options: ActiveCallsReconcilerOptions = {},
): ActiveCallsReconciler {
  const maxTombstones = options.maxTombstones ?? defaultMaxTombstones;
  const calls = new Map<string, CallSnapshot>();
  /** Call id → version at which it ended. */
  const tombstones = new Map<string, number>();
  /**
   * Active calls changed by live events since the last reload began. Only held calls count (a
   * snapshot keeps what it misses of those alone), so the set never outgrows the active calls.
   */
  let touchedSinceReload = new Set<string>();

  const isBuried = (call: CallSnapshot): boolean => {
    const endedAt = tombstones.get(call.callId);
    return endedAt !== undefined && endedAt >= call.version;
  };

  const bury = (callId: string, version: number): void => {
    tombstones.delete(callId);
    tombstones.set(callId, version);
    if (tombstones.size > maxTombstones) {
      const oldest = tombstones.keys().next().value;
      if (oldest !== undefined) tombstones.delete(oldest);
    }
  };

  /** Applies one call snapshot from a live event; true when it changed the active calls. */
  const applyCall = (call: CallSnapshot, ended: boolean): boolean => {
    if (isBuried(call)) return false;
    const current = calls.get(call.callId);
    if (current && current.version >= call.version) return false;
    if (ended || call.active === false) {
      calls.delete(call.callId);
      bury(call.callId, call.version);
      return current !== undefined;
    }
    calls.set(call.callId, call);
    return true;
  };

  return {
    applyEvent(event) {
      const call = eventCall(event);
      const ended = event.type === 'call.ended';
      if (call) {
        const changed = applyCall(call, ended);
        if (calls.has(call.callId)) touchedSinceReload.add(call.callId);
        else touchedSinceReload.delete(call.callId);
        return { call, changed };
      }
      if (ended && event.callId !== undefined && calls.has(event.callId)) {
        calls.delete(event.callId);
        touchedSinceReload.delete(event.callId);
        return { call: undefined, changed: true };
      }
      return { call: undefined, changed: false };
    },
    beginReload() {
      touchedSinceReload = new Set();
    },
    applySnapshot(snapshot) {
      const previous = new Map(calls);
      calls.clear();
      for (const call of snapshot) {
        if (isBuried(call) || call.active === false) continue;
        const current = previous.get(call.callId);
        calls.set(call.callId, current && current.version >= call.version ? current : call);
      }
      for (const callId of touchedSinceReload) {
        const current = previous.get(callId);
        if (current && !calls.has(callId)) calls.set(callId, current);
      }
    },
    get: (callId) => calls.get(callId),
    list: () => [...calls.values()].sort(newestFirst),
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
