export type { RedisCallStoreOptions } from './create-redis-call-store';
export { createRedisCallStore } from './create-redis-call-store';
export type { RedisIdempotencyStoreOptions } from './create-redis-idempotency-store';
export { createRedisIdempotencyStore } from './create-redis-idempotency-store';
