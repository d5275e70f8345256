export type { ActiveCallsInput } from './active-calls-input';
export { activeCallsInputSchema } from './active-calls-input';
export type { CallStreamErrorInfo, CallStreamSkippedEvent } from './call-stream-error-info';
export type {
  CallStreamEventMessage,
  CallStreamMessage,
  CallStreamPresenceMessage,
  CallStreamPresenceUnavailableMessage,
  CallStreamReadyMessage,
  CallStreamResetMessage,
  CallStreamResumedMessage,
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
export type { RequestWithHeaders } from './create-origin-check';
export type { OnCallEventInput } from './on-call-event-input';
export { onCallEventInputSchema } from './on-call-event-input';
export type { ActiveCallsSnapshot } from './read-active-calls';
export type { SseRetryOptions } from './sse-retry-frame';
export type { StreamCallEventsOptions } from './stream-call-events';
export { streamCallEvents } from './stream-call-events';
export { toTRPCError } from './to-trpc-error';
export type { NodeSseResponse } from './with-node-sse-retry';
export { withNodeSseRetry } from './with-node-sse-retry';
export { withSseRetry } from './with-sse-retry';
