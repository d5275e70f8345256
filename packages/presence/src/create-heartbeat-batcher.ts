import type { PresenceConnectionHandle } from './presence-connection-handle';
import type {
  HeartbeatOutcome,
  HeartbeatReport,
  PresenceStore,
  PresenceStoreSettings,
} from './presence-store';

/** Most heartbeats sent to the store in one call. */
const batchSize = 256;

/** Collects the heartbeats made in one tick and sends them to the store together. */
export interface HeartbeatBatcher {
  /** Resolves once the heartbeat was applied (in a batch, or through `onSlow` / `onMissing`). */
  add(handle: PresenceConnectionHandle): Promise<void>;
}

interface PendingBeat {
  handle: PresenceConnectionHandle;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Heartbeats made in the same tick (a bucket of the wheel, many sockets' keepalives) go to the
 * store together: one `store.heartbeat` call (one script on Redis) per tenant and batch. A
 * connection the batch cannot refresh goes on to `onSlow` (the full rules) or `onMissing`
 * (register it again), so a batched heartbeat ends exactly as a single one would. A refreshed
 * connection keeps the user's state the store reported with it (see `HeartbeatReport`).
 */
export function createHeartbeatBatcher(options: {
  heartbeat: NonNullable<PresenceStore['heartbeat']>;
  now: () => number;
  settings: PresenceStoreSettings;
  onSlow: (handle: PresenceConnectionHandle) => Promise<void>;
  onMissing: (handle: PresenceConnectionHandle) => Promise<void>;
}): HeartbeatBatcher {
  const pending = new Map<string, PendingBeat[]>();
  let queued = false;

  const send = async (tenantId: string, beats: PendingBeat[]): Promise<void> => {
    let outcomes: (HeartbeatOutcome | HeartbeatReport)[];
    try {
      outcomes = await options.heartbeat(
        tenantId,
        beats.map(({ handle }) => ({ userId: handle.userId, connectionId: handle.connectionId })),
        options.now(),
        options.settings,
      );
    } catch (error) {
      for (const beat of beats) beat.reject(error);
      return;
    }
    beats.forEach((beat, index) => {
      const reported = outcomes[index];
      const outcome = typeof reported === 'object' ? reported.outcome : reported;
      if (outcome === 'ok') {
        // A bare `ok` says nothing of the state: what the handle knew may be stale, so it is dropped.
        beat.handle.state = typeof reported === 'object' ? reported.state : undefined;
        beat.handle.stateAt = typeof reported === 'object' ? reported.stateAt : undefined;
      }
      if (outcome === 'ok' || beat.handle.closed) {
        beat.resolve();
        return;
      }
      const rest =
        outcome === 'missing' ? options.onMissing(beat.handle) : options.onSlow(beat.handle);
      rest.then(beat.resolve, beat.reject);
    });
  };

  const flush = (): void => {
    queued = false;
    const batches = [...pending];
    pending.clear();
    for (const [tenantId, beats] of batches) {
      for (let start = 0; start < beats.length; start += batchSize) {
        void send(tenantId, beats.slice(start, start + batchSize));
      }
    }
  };

  return {
    add(handle) {
      return new Promise<void>((resolve, reject) => {
        const beats = pending.get(handle.tenantId);
        if (beats) beats.push({ handle, resolve, reject });
        else pending.set(handle.tenantId, [{ handle, resolve, reject }]);
        if (!queued) {
          queued = true;
          queueMicrotask(flush);
        }
      });
    },
  };
}
