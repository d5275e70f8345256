export type { CallStoreFactory } from './describe-call-store';
export { describeCallStore } from './describe-call-store';
export type { IdempotencyStoreFactory } from './describe-idempotency-store';
export { describeIdempotencyStore } from './describe-idempotency-store';
export type { TrackerTestApi } from './tracker-test-api';
