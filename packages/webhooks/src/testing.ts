export type { ConformanceTestApi } from '@calltrack/core';
export type { TestClock } from './create-test-clock';
export { createTestClock } from './create-test-clock';
export type { WebhookStoreSuiteOptions } from './describe-webhook-store';
export { describeWebhookStore } from './describe-webhook-store';
