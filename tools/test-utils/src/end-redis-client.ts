import type { Redis } from 'ioredis';

/**
 * Ends `redis` as a `retryStrategy` that gives up does: the server drops the client's connection
 * (`CLIENT KILL`, sent on `admin`) and the client, made with `retryStrategy: () => null`, never
 * reconnects. Its status is then `end`, and every command fails with `Connection is closed.`
 * The server goes on serving everybody else.
 */
export async function endRedisClient(redis: Redis, admin: Redis): Promise<void> {
  if (redis.options.retryStrategy?.(1) !== null) {
    throw new Error('endRedisClient: make the client with retryStrategy: () => null.');
  }
  const id = await redis.client('ID');
  const ended = new Promise((resolve) => redis.once('end', resolve));
  await admin.client('KILL', 'ID', String(id));
  await ended;
}
