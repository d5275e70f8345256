export type { RedisCallStoreOptions } from './create-redis-call-store';
export { createRedisCallStore } from './create-redis-call-store';
