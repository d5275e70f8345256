export type { RedisCallPacerOptions } from './create-redis-call-pacer';
export { createRedisCallPacer } from './create-redis-call-pacer';
export type { RedisDialerLocksOptions } from './create-redis-dialer-locks';
export { createRedisDialerLocks } from './create-redis-dialer-locks';
export type { RedisDoNotCallListOptions } from './create-redis-do-not-call-list';
export { createRedisDoNotCallList } from './create-redis-do-not-call-list';
export type { RedisLeadStoreOptions } from './create-redis-lead-store';
export { createRedisLeadStore } from './create-redis-lead-store';
