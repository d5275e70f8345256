export type { ActiveCallsInput } from './active-calls-input';
export { activeCallsInputSchema } from './active-calls-input';
export type {
  CallStreamEventMessage,
  CallStreamMessage,
  CallStreamReadyMessage,
  CallStreamResetMessage,
} from './call-stream-message';
export { callStreamStartId } from './call-stream-message';
export type {
  ActiveCallsSource,
  AllCallTrackProcedures,
  CallTrackBaseProcedure,
  CallTrackProcedureContext,
  CallTrackProcedures,
  CallTrackProceduresOptions,
} from './create-call-track-procedures';
export { createCallTrackProcedures } from './create-call-track-procedures';
export type { CallTrackRouterOptions } from './create-call-track-router';
export { createCallTrackRouter } from './create-call-track-router';
export type { OnCallEventInput } from './on-call-event-input';
export { onCallEventInputSchema } from './on-call-event-input';
export type { GetTenant } from './resolve-tenant';
export type { StreamCallEventsOptions } from './stream-call-events';
export { streamCallEvents } from './stream-call-events';
export { toTRPCError } from './to-trpc-error';
