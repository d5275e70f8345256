import { type RedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Redis } from 'ioredis';

/** Runs a script like `runRedisScript`, sent together with the others of the same tick. */
export type RedisScriptBatcher = (
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

interface Pending {
  script: RedisScript;
  keys: readonly string[];
  args: readonly (string | number)[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches the store's script calls of one event-loop turn into one pipeline: one socket write and
 * one read for all of them, on the client's side and on Redis's, instead of one per call. The
 * calls of a batch were made concurrently (none waits for another), so each still runs atomically
 * on its own and in the order made; what changes is only how they travel. Batches are flushed in
 * `setImmediate`, after the turn's I/O callbacks (many workers' jobs start or finish in one
 * turn), so a call waits for no timer. A script Redis does not know yet (`NOSCRIPT`) is sent again
 * with its source (`EVAL`), as `runRedisScript` does.
 */
export function createRedisScriptBatcher(redis: Redis): RedisScriptBatcher {
  let batch: Pending[] = [];

  const flush = (): void => {
    const calls = batch;
    batch = [];
    if (calls.length === 1) {
      const [call] = calls as [Pending];
      runRedisScript(redis, call.script, call.keys, call.args).then(call.resolve, call.reject);
      return;
    }
    const pipeline = redis.pipeline();
    for (const call of calls) {
      pipeline.evalsha(call.script.sha, call.keys.length, ...call.keys, ...call.args);
    }
    pipeline.exec().then(
      (results) => {
        calls.forEach((call, index) => {
          const [error, value] = results?.[index] ?? [new Error('No reply from Redis.'), null];
          if (!error) call.resolve(value);
          else if (error.message.startsWith('NOSCRIPT')) {
            redis
              .eval(call.script.source, call.keys.length, ...call.keys, ...call.args)
              .then(call.resolve, call.reject);
          } else call.reject(error);
        });
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error);
      },
    );
  };

  return (script, keys, args) =>
    new Promise((resolve, reject) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push({ script, keys, args, resolve, reject });
    });
}
