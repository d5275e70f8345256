export type { ConformanceTestApi } from '@calltrack/core';
export type { PresenceStoreSuiteOptions } from './describe-presence-store';
export { describePresenceStore } from './describe-presence-store';
