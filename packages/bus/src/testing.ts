export type {
  EventBusFactory,
  EventBusSuiteOptions,
  EventBusTestApi,
} from './describe-event-bus';
export { describeEventBus } from './describe-event-bus';
