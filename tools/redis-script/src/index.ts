export type { RedisBusIngest } from './redis-bus-ingest';
export { redisBusIngestKey, redisBusIngestOf } from './redis-bus-ingest';
export { redisClusterSlot } from './redis-cluster-slot';
export { refuseOutOfMemoryLua } from './refuse-out-of-memory-lua';
export type { RedisScript } from './run-redis-script';
export { defineRedisScript, runRedisScript } from './run-redis-script';
