export type { ConformanceTestApi } from '@calltrack/core';
export type { CallStoreSuiteOptions } from './describe-call-store';
export { describeCallStore } from './describe-call-store';
export type { IdempotencyStoreSuiteOptions } from './describe-idempotency-store';
export { describeIdempotencyStore } from './describe-idempotency-store';
