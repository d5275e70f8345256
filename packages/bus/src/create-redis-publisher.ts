import { BusUnavailableError, type CallEvent, parseCallEvent } from '@calltrack/core';
import { defineRedisScript, type RedisScript, runRedisScript } from '@calltrack/redis-script';
import { createDeadlineQueue } from './create-deadline-queue';
import type { RedisPubSubMode } from './create-redis-pubsub';
import type { BusPublishResult } from './event-bus';
import type { RedisBusClient } from './redis-bus-client';
import { redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';
import { redisPublishScript } from './redis-bus-scripts';
import { callEventJson, isSealedCallEvent } from './seal-call-event';

/** Options of {@link createRedisPublisher}. */
export interface RedisPublisherOptions {
  redis: RedisBusClient;
  prefix: string;
  maxEvents: number;
  maxAgeMs: number;
  metaTtlMs: number;
  publishTimeoutMs: number;
  /** The pub/sub kind; known after the first call. */
  mode: () => Promise<RedisPubSubMode>;
  /** Where a failed tenant registration is reported (it is tried again on the next publish). */
  report: (error: Error) => void;
}

const unavailableStatuses = new Set(['reconnecting', 'close', 'end']);

/**
 * The Redis bus's `publish`: validate (unless sealed), write as JSON, run the publish script
 * (de-duplication, cursor, history, live publish in one step) within a deadline. Under sharded
 * pub/sub it also registers a tenant the first time it publishes, for all-tenants subscribers.
 */
export function createRedisPublisher(
  options: RedisPublisherOptions,
): (event: CallEvent) => Promise<BusPublishResult> {
  const { redis, prefix, publishTimeoutMs } = options;
  const registry = redisBusTenantRegistry(prefix);
  let script: RedisScript | undefined;
  const deadlines = createDeadlineQueue(publishTimeoutMs);

  const unavailable = (message: string, cause?: unknown): BusUnavailableError =>
    new BusUnavailableError({ message, cause });

  /** Makes the tenant known to all-tenants subscribers; repeated until it succeeded once. */
  const register = async (tenantId: string, meta: string): Promise<void> => {
    await redis.sadd(registry.key, tenantId);
    await redis.spublish(registry.channel, tenantId);
    await redis.hset(meta, 'reg', 1);
  };

  const scriptFor = (mode: RedisPubSubMode): RedisScript =>
    defineRedisScript(
      redisPublishScript({
        maxEvents: options.maxEvents,
        maxAgeMs: options.maxAgeMs,
        metaTtlMs: options.metaTtlMs,
        command: mode === 'sharded' ? 'SPUBLISH' : 'PUBLISH',
        register: mode === 'sharded',
      }),
    );

  /** After the script: the result, and a first-time tenant registered (sharded pub/sub). */
  const settle = async (
    reply: string,
    event: CallEvent,
    meta: string,
  ): Promise<BusPublishResult> => {
    // The event is published; a failed registration is tried again on the tenant's next one.
    await register(event.tenantId, meta).catch((error: unknown) =>
      options.report(error instanceof Error ? error : new Error(String(error))),
    );
    return { cursor: reply.slice(1), duplicate: false };
  };

  const run = (event: CallEvent, json: string): Promise<BusPublishResult> => {
    if (script === undefined) {
      return options.mode().then((mode) => {
        script ??= scriptFor(mode);
        return run(event, json);
      });
    }
    const meta = redisBusKeys(prefix, event.tenantId).meta;
    return runRedisScript(redis, script, [meta], [json, event.id]).then((answer) => {
      const reply = answer as string;
      const kind = reply.charCodeAt(0);
      if (kind === 114 /* r */) return settle(reply, event, meta);
      return { cursor: reply.slice(1), duplicate: kind === 100 /* d */ };
    });
  };

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
    if (unavailableStatuses.has(redis.status)) {
      return Promise.reject(
        unavailable(
          `The Redis bus cannot publish: the Redis connection is ${redis.status}. The event was not published.`,
        ),
      );
    }
    return deadlines.within(run(event, json), (error) =>
      unavailable(
        `The Redis bus could not publish event ${event.id}: ${
          error === undefined
            ? `no answer within ${publishTimeoutMs} ms`
            : error instanceof Error
              ? error.message
              : String(error)
        }. It may or may not have been published; publishing it again is safe.`,
        error,
      ),
    );
  };
}
