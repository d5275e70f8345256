import {
  BusUnavailableError,
  type CallEvent,
  CallTrackError,
  isSealedCallEvent,
  parseCallEvent,
} from '@calltrack/core';
import {
  followRedisReachability,
  redactErrorValues,
  redisClientClosedError,
  toError,
} from '@calltrack/core/internal';
import { defineRedisScript, type RedisScript, runRedisScript } from '@calltrack/redis-script';
import { busCursorVerifier, formatBusCursor } from './bus-cursor';
import { callEventJson } from './call-event-json';
import { createDeadlineQueue } from './create-deadline-queue';
import { createKeyBatcher } from './create-key-batcher';
import type { RedisPubSubMode } from './create-redis-pubsub';
import type { BusPublishResult } from './event-bus';
import type { RedisBusClient } from './redis-bus-client';
import { redisBusKeys } from './redis-bus-keys';
import { type RedisPublishSettings, redisPublishScript } from './redis-bus-scripts';
import { registerRedisBusTenant } from './register-redis-bus-tenant';

/** Options of {@link createRedisPublisher}. */
export interface RedisPublisherOptions {
  redis: RedisBusClient;
  prefix: string;
  maxEvents: number;
  maxAgeMs: number;
  maxBytes: number;
  metaTtlMs: number;
  publishTimeoutMs: number;
  /** The pub/sub kind; known after the first call. */
  mode: () => Promise<RedisPubSubMode>;
  /** Where a failed tenant registration is reported (it is tried again on the next publish). */
  report: (error: Error) => void;
}

/** The settings written into the publish script (and functions) of a bus. */
export function redisPublishSettings(
  options: Pick<RedisPublisherOptions, 'maxEvents' | 'maxAgeMs' | 'maxBytes' | 'metaTtlMs'>,
  mode: RedisPubSubMode,
): RedisPublishSettings {
  return {
    maxEvents: options.maxEvents,
    maxAgeMs: options.maxAgeMs,
    maxBytes: options.maxBytes,
    metaTtlMs: options.metaTtlMs,
    command: mode === 'sharded' ? 'SPUBLISH' : 'PUBLISH',
    register: mode === 'sharded',
  };
}

interface Pending {
  event: CallEvent;
  json: string;
  /**
   * Its deadline passed once a batch had it: the caller was told it may or may not be published,
   * so it is not sent when it was not yet. (One still waiting for a batch is withdrawn instead.)
   */
  abandoned: boolean;
}

/** What an event whose deadline passed before it was sent gets (nobody reads it). */
const abandonedResult: BusPublishResult = { cursor: '', duplicate: false };

/** Publishes one JSON argument list of at most this size per script call (events can be MiBs). */
const maxBatchBytes = 1024 * 1024;

/**
 * The Redis bus's `publish`: validate (unless sealed), write as JSON, run the publish script
 * (de-duplication, cursor, history, live publish in one step) within a deadline. Under sharded
 * pub/sub it also registers a tenant the first time it publishes, for all-tenants subscribers.
 */
export function createRedisPublisher(
  options: RedisPublisherOptions,
): (event: CallEvent) => Promise<BusPublishResult> {
  const { redis, prefix, publishTimeoutMs } = options;
  let script: RedisScript | undefined;
  const deadlines = createDeadlineQueue(publishTimeoutMs);
  // From the client's first ready on, a publish is sent at once or refused (its first connect
  // is waited for, within publishTimeoutMs).
  const unreachable = followRedisReachability(redis);

  const unavailable = (message: string, cause?: unknown): BusUnavailableError =>
    new BusUnavailableError({ message, cause });

  const scriptFor = (mode: RedisPubSubMode): RedisScript =>
    defineRedisScript(redisPublishScript(redisPublishSettings(options, mode)));

  /** Publishes a batch of one tenant's events with one script call. */
  const publishBatch = async (tenant: string, batch: Pending[]): Promise<BusPublishResult[]> => {
    script ??= scriptFor(await options.mode());
    // Those whose deadline passed while they waited are not sent; which were is kept by index.
    const sent: boolean[] = new Array(batch.length);
    const args: string[] = [];
    for (let index = 0; index < batch.length; index += 1) {
      const pending = batch[index] as Pending;
      sent[index] = !pending.abandoned;
      if (pending.abandoned) continue;
      args.push(pending.json, pending.event.id);
    }
    // An abandoned one's promise is already rejected: what it gets here goes nowhere.
    if (args.length === 0) return batch.map(() => abandonedResult);
    const reply = (await runRedisScript(
      redis,
      script,
      redisBusKeys(prefix, tenant).script,
      args,
    )) as (string | number)[];
    const epoch = reply[0] as string;
    if (reply[1] === 1) {
      // The events are published; a failed registration is tried again on the next publish.
      await registerRedisBusTenant(redis, prefix, tenant).catch((error: unknown) => {
        redactErrorValues(error);
        options.report(toError(error));
      });
    }
    // Every entry this call wrote has the same publish time; a duplicate's comes with it.
    const verifier = busCursorVerifier(reply[2] as number);
    const results: BusPublishResult[] = new Array(batch.length);
    let next = 3;
    for (let index = 0; index < batch.length; index += 1) {
      if (!sent[index]) {
        results[index] = abandonedResult;
        continue;
      }
      const seq = reply[next] as number;
      next += 1;
      if (seq > 0) {
        results[index] = { cursor: formatBusCursor(epoch, seq, verifier), duplicate: false };
        continue;
      }
      const firstAt = reply[next] as number;
      next += 1;
      results[index] = {
        cursor: formatBusCursor(epoch, -seq, busCursorVerifier(firstAt)),
        duplicate: true,
      };
    }
    return results;
  };
  // Events of one tenant published while its previous script call runs go together in the next
  // one: no added latency at rest, and the per-call cost shared under load.
  const batcher = createKeyBatcher(publishBatch, {
    maxItems: 64,
    maxWeight: maxBatchBytes,
    weight: (pending) => pending.json.length,
  });

  return (input) => {
    let event: CallEvent;
    let json: string;
    try {
      // Validation and serialization refuse a bad event with a 400 before Redis is involved.
      event = isSealedCallEvent(input) ? input : parseCallEvent(input);
      json = callEventJson(event);
    } catch (error) {
      return Promise.reject(error);
    }
    const status = unreachable();
    // An ended client never reconnects (quit(), disconnect(), a retryStrategy that gave up): a
    // bug or a shutdown, answered 500, not a 503 that providers would retry for ever.
    if (status === 'end') return Promise.reject(redisClientClosedError());
    if (status !== undefined) {
      return Promise.reject(
        unavailable(
          `The Redis bus cannot publish: the Redis connection is ${status}. The event was not published.`,
        ),
      );
    }
    const tenant = event.tenantId;
    const pending: Pending = { event, json, abandoned: false };
    return deadlines.within(batcher.add(tenant, pending), (error) => {
      // ioredis attaches the script call to its error, arguments and all: the events' JSON
      // (phone numbers, transcripts) must not reach the caller's logs through `cause`.
      redactErrorValues(error);
      // The client was ended while the event waited or was in flight.
      if (error !== undefined && redis.status === 'end' && !CallTrackError.isInstance(error)) {
        return redisClientClosedError(error);
      }
      const failure = unavailable(
        `The Redis bus could not publish event ${event.id}: ${
          error === undefined
            ? `no answer within ${publishTimeoutMs} ms`
            : error instanceof Error
              ? error.message
              : String(error)
        }. It may or may not have been published; publishing it again is safe.`,
        error,
      );
      // Out of time: one still waiting behind a call Redis has not answered (it may hang for
      // good) leaves the queue now, with its event and JSON; one a batch has is not sent.
      if (error === undefined && !batcher.withdraw(tenant, pending, failure)) {
        pending.abandoned = true;
      }
      return failure;
    });
  };
}
