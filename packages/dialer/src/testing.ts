export type { ConformanceTestApi } from '@calltrack/core';
export type { TestClock } from './create-test-clock';
export { createTestClock } from './create-test-clock';
export type { LeadStoreSuiteOptions } from './describe-lead-store';
export { describeLeadStore } from './describe-lead-store';
