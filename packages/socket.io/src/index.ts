export type { AnyServer, AttachCallTrackOptions, CallTrackSocketHandle } from './attach-call-track';
export { attachCallTrack } from './attach-call-track';
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
  ResetPayload,
  SubscribeToCallsPayload,
} from './call-track-protocol';
export { callRoom, callsRoom, tenantRoom, userRoom } from './call-track-rooms';
export type { AuthenticateSocket, ConnectErrorData } from './create-auth-middleware';
export { lifecycleEventName } from './lifecycle-event-name';
export { UndeliverableEventError } from './undeliverable-event-error';
