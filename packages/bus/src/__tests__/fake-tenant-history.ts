import type { CallEvent } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { formatBusCursor } from '../bus-cursor';
import type { ReadRedisHistory, RedisHistoryPage } from '../read-redis-history';
import type { RedisStreamMessage } from '../redis-stream-message';

/**
 * A tenant's stream as the Redis scripts keep it (epoch, dense seqs, a bounded window), in
 * memory, with the read script's semantics, for testing the subscriber state machine without
 * Redis. Reads can be held (`hold()`), to let live messages race with them.
 */
export interface FakeTenantHistory {
  epoch: string | null;
  /** Appends an event; returns its live message. */
  publish(event?: CallEvent): RedisStreamMessage;
  /** Redis lost everything: no stream until the next publish, which starts `epoch`. */
  lose(nextEpoch: string): void;
  /** Forgets the newest `count` events (a failover that lost the last writes). */
  rewind(count: number): void;
  /** Drops everything older than the newest `keep` events from the window (keeps one, as Redis). */
  forgetAllBut(keep: number): void;
  /** Replaces the stored event at `seq` by unreadable JSON. */
  corrupt(seq: number): void;
  /** Every read waits until `release()` (or fails with `fail()`). */
  hold(): void;
  release(): Promise<void>;
  fail(error: Error): Promise<void>;
  /** The injected read. */
  read: ReadRedisHistory;
  /** How many reads ran. */
  readonly reads: number;
}

export function createFakeTenantHistory(options: {
  tenantId?: string;
  epoch?: string;
  batchSize?: number;
}): FakeTenantHistory {
  const tenantId = options.tenantId ?? 'tenant-a';
  const batchSize = options.batchSize ?? 500;
  let epoch: string | null = options.epoch ?? 'e1';
  let pendingEpoch: string | undefined;
  let top = 0;
  let oldest = 1;
  /** Each write gets a verifier of its own, as each Redis entry has its own publish time. */
  let writes = 0;
  const entries = new Map<number, { event: CallEvent | undefined; verifier: string }>();
  let reads = 0;
  let held: { resolve: () => void; reject: (error: Error) => void }[] | undefined;

  const message = (seq: number): RedisStreamMessage => {
    const entry = entries.get(seq);
    const verifier = entry?.verifier;
    const cursor = formatBusCursor(epoch as string, seq, verifier);
    const stored = entry?.event;
    return stored
      ? { epoch: epoch as string, seq, verifier, cursor, event: stored }
      : {
          epoch: epoch as string,
          seq,
          verifier,
          cursor,
          event: undefined,
          error: new Error('not JSON'),
        };
  };

  const page = (after: number | null, afterVerifier: string | undefined): RedisHistoryPage => {
    if (epoch === null) {
      return { epoch: null, top: 0, topVerifier: undefined, status: 'ok', entries: [] };
    }
    const at = { epoch, top, topVerifier: entries.get(top)?.verifier, entries: [] };
    if (after === null) return { ...at, status: 'ok' };
    if (afterVerifier !== undefined && after >= 1 && after <= top) {
      const seen = entries.get(after);
      if (!seen) return { ...at, status: 'gap' };
      if (seen.verifier !== afterVerifier) return { ...at, status: 'diverged' };
    }
    if (after >= top) return { ...at, status: 'ok' };
    if (after + 1 < oldest) return { ...at, status: 'gap' };
    const found: RedisStreamMessage[] = [];
    for (let seq = after + 1; seq <= top && found.length < batchSize; seq += 1) {
      found.push(message(seq));
    }
    return { ...at, status: 'ok', entries: found };
  };

  const settle = async (outcome: (waiter: NonNullable<typeof held>[number]) => void) => {
    const waiting = held ?? [];
    held = undefined;
    for (const waiter of waiting) outcome(waiter);
    // Let the readers run what follows their read.
    for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
  };

  return {
    get epoch() {
      return epoch;
    },
    set epoch(value) {
      epoch = value;
    },
    get reads() {
      return reads;
    },
    publish(event = makeCallEvent({ tenantId })) {
      if (epoch === null) {
        epoch = pendingEpoch ?? 'e-next';
        top = 0;
        oldest = 1;
        entries.clear();
      }
      top += 1;
      writes += 1;
      entries.set(top, { event, verifier: writes.toString(36) });
      return message(top);
    },
    lose(nextEpoch) {
      epoch = null;
      pendingEpoch = nextEpoch;
      entries.clear();
    },
    rewind(count) {
      for (let index = 0; index < count; index += 1) entries.delete(top - index);
      top -= count;
    },
    forgetAllBut(keep) {
      oldest = Math.max(oldest, top - keep + 1);
      // Like Redis, it keeps the newest entry that left the window, to check cursors at it.
      for (const seq of [...entries.keys()]) if (seq < oldest - 1) entries.delete(seq);
    },
    corrupt(seq) {
      const entry = entries.get(seq);
      if (entry) entry.event = undefined;
    },
    hold() {
      held ??= [];
    },
    release: () => settle((waiter) => waiter.resolve()),
    fail: (error) => settle((waiter) => waiter.reject(error)),
    read: async (after, afterVerifier) => {
      reads += 1;
      if (held) {
        const waiting = held;
        await new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      }
      return page(after, afterVerifier);
    },
  };
}
