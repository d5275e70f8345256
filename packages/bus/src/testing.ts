export type { ConformanceTestApi } from '@calltrack/core';
export type { EventBusSuiteOptions } from './describe-event-bus';
export { describeEventBus } from './describe-event-bus';
