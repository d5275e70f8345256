export type { RedisScript } from './run-redis-script';
export { defineRedisScript, runRedisScript } from './run-redis-script';
