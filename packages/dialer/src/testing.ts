export type { TestClock } from './create-test-clock';
export { createTestClock } from './create-test-clock';
export type { LeadStoreSuiteOptions, LeadStoreTestApi } from './describe-lead-store';
export { describeLeadStore } from './describe-lead-store';
