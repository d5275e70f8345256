export type { TestClock } from './create-test-clock';
export { createTestClock } from './create-test-clock';
export type { WebhookStoreSuiteOptions, WebhookStoreTestApi } from './describe-webhook-store';
export { describeWebhookStore } from './describe-webhook-store';
