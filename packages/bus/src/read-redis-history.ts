import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import { busCursorVerifier, formatBusCursor } from './bus-cursor';
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
  /** The verifier of the newest event's cursor, when known. */
  topVerifier: string | undefined;
  /**
   * `ok`: `entries` are the next events (possibly none); `gap`: some wanted event, or the one at
   * `after` the verifier names, has left history; `diverged`: the entry at `after` is not the
   * one the verifier names (the stream went back and was written again).
   */
  status: 'ok' | 'gap' | 'diverged';
  /** The events after `after`, oldest first; an unreadable one has `event: undefined`. */
  entries: RedisStreamMessage[];
}

/**
 * Reads a tenant's history: with `after` null only the position (epoch and top), else up to a
 * batch of the events after it, all or nothing. `afterVerifier` is the verifier of the cursor
 * at `after` (see bus-cursor), when the reader has one, so a stream that went back and was
 * written again is noticed.
 */
export type ReadRedisHistory = (
  after: number | null,
  afterVerifier: string | undefined,
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
  return async (after, afterVerifier) => {
    const reply = (await runRedisScript(
      redis,
      readLua,
      [keys.meta, keys.stream],
      [after === null ? '' : after, batchSize, maxAgeMs, maxEvents, afterVerifier ?? ''],
    )) as string[];
    const epoch = reply[0] || null;
    const entries: RedisStreamMessage[] = [];
    for (let index = 4; index + 1 < reply.length; index += 2) {
      // Entry ids are `<seq>-<publish time>`; the time is the cursor's verifier.
      const id = reply[index] as string;
      const dash = id.indexOf('-');
      const seq = Number(id.slice(0, dash));
      const verifier = busCursorVerifier(Number(id.slice(dash + 1)));
      const cursor = formatBusCursor(epoch as string, seq, verifier);
      const event = readStreamEvent(reply[index + 1] as string, tenantId);
      entries.push(
        event instanceof Error
          ? { epoch: epoch as string, seq, verifier, cursor, event: undefined, error: event }
          : { epoch: epoch as string, seq, verifier, cursor, event },
      );
    }
    const topAt = reply[3];
    return {
      epoch,
      top: Number(reply[1]),
      topVerifier: topAt ? busCursorVerifier(Number(topAt)) : undefined,
      status: reply[2] as RedisHistoryPage['status'],
      entries,
    };
  };
}
