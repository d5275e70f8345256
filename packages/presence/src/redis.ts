export type { RedisPresenceStoreOptions } from './create-redis-presence-store';
export { createRedisPresenceStore } from './create-redis-presence-store';
