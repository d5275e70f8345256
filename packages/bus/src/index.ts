export type { BusDeliveryFailure } from './bus-delivery-error';
export { BusDeliveryError } from './bus-delivery-error';
export type { MemoryBusOptions } from './create-memory-bus';
export { createMemoryBus } from './create-memory-bus';
export type {
  BusEventMessage,
  BusLaggedMessage,
  BusMessage,
  BusOptions,
  BusPublishResult,
  BusResetMessage,
  BusSubscribeOptions,
  BusSubscription,
  EventBus,
} from './event-bus';
