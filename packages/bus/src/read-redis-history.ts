import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import { formatBusCursor } from './bus-cursor';
import type { RedisBusClient } from './redis-bus-client';
import type { RedisBusKeys } from './redis-bus-keys';
import { readScript } from './redis-bus-scripts';
import { type RedisStreamMessage, readStreamEvent } from './redis-stream-message';

/** One read of a tenant's history. */
export interface RedisHistoryPage {
  /** The stream's epoch; null when the tenant has no stream (nothing published, or lost). */
  epoch: string | null;
  /** Sequence number of the newest event. */
  top: number;
  /**
   * `ok`: `entries` are the next events (possibly none); `gap`: some wanted event has left
   * history; `diverged`: the event at `after` is not the one the reader saw there.
   */
  status: 'ok' | 'gap' | 'diverged';
  /** The events after `after`, oldest first; an unreadable one has `event: undefined`. */
  entries: RedisStreamMessage[];
}

/**
 * Reads a tenant's history: with `after` null only the position (epoch and top), else up to a
 * batch of the events after it, all or nothing. `afterId` is the id of the event the reader saw
 * at `after`, when it knows it, so a rewritten stream is noticed.
 */
export type ReadRedisHistory = (
  after: number | null,
  afterId: string | undefined,
) => Promise<RedisHistoryPage>;

const readLua = defineRedisScript(readScript);

/** Options of {@link createRedisHistoryReader}. */
export interface RedisHistoryReaderOptions {
  redis: RedisBusClient;
  keys: RedisBusKeys;
  tenantId: string;
  batchSize: number;
  maxAgeMs: number;
  maxEvents: number;
}

/** The history read of one tenant, with the read script. */
export function createRedisHistoryReader(options: RedisHistoryReaderOptions): ReadRedisHistory {
  const { redis, keys, tenantId, batchSize, maxAgeMs, maxEvents } = options;
  return async (after, afterId) => {
    const reply = (await runRedisScript(
      redis,
      readLua,
      [keys.meta, keys.stream],
      [after === null ? '' : after, batchSize, maxAgeMs, maxEvents, afterId ?? ''],
    )) as string[];
    const epoch = reply[0] || null;
    const entries: RedisStreamMessage[] = [];
    for (let index = 3; index + 1 < reply.length; index += 2) {
      const seq = Number(reply[index]);
      const cursor = formatBusCursor(epoch as string, seq);
      const event = readStreamEvent(reply[index + 1] as string, tenantId);
      entries.push(
        event instanceof Error
          ? { epoch: epoch as string, seq, cursor, event: undefined, error: event }
          : { epoch: epoch as string, seq, cursor, event },
      );
    }
    return {
      epoch,
      top: Number(reply[1]),
      status: reply[2] as RedisHistoryPage['status'],
      entries,
    };
  };
}
