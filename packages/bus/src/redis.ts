export type { RedisBusOptions } from './create-redis-bus';
export { createRedisBus } from './create-redis-bus';
