export type { RedisLeadStoreOptions } from './create-redis-lead-store';
export { createRedisLeadStore } from './create-redis-lead-store';
