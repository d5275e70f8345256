export type { RedisBusOptions } from './create-redis-bus';
export { createRedisBus } from './create-redis-bus';
export type { RedisScript } from './run-redis-script';
export { defineRedisScript, runRedisScript } from './run-redis-script';
