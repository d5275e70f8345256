export type { AnyServer, AttachCallTrackOptions, CallTrackSocketHandle } from './attach-call-track';
export { attachCallTrack } from './attach-call-track';
export type { AuthenticateSocket, ConnectErrorData } from './authenticate-handshake';
export { BusSubscriptionLostError } from './bus-subscription-lost-error';
export type {
  ActiveCallsPayload,
  CallDataPayload,
  CallLifecycleEventName,
  CallSubscriptionPayload,
  CallTrackAck,
  CallTrackAckErrorCode,
  CallTrackClientEvents,
  CallTrackDelivery,
  CallTrackHandshakeAuth,
  CallTrackResetReason,
  CallTrackServerEvents,
  PresenceErrorPayload,
  PresenceMembersPayload,
  PresenceUnavailablePayload,
  ResetPayload,
  ResumeErrorPayload,
  SubscribeToCallsPayload,
} from './call-track-protocol';
export { callRoom, callsRoom, tenantRoom, userRoom } from './call-track-rooms';
export type {
  CallTrackSocketErrorInfo,
  CallTrackSocketSkippedEvent,
} from './call-track-socket-error-info';
export { UndeliverableEventError } from './undeliverable-event-error';
