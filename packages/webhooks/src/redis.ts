export type { RedisWebhookStoreOptions } from './create-redis-webhook-store';
export { createRedisWebhookStore } from './create-redis-webhook-store';
