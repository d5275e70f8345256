export type { AnyServer, AttachCallTrackOptions, CallTrackSocketHandle } from './attach-call-track';
export { attachCallTrack } from './attach-call-track';
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
  ResetPayload,
  SubscribeToCallsPayload,
} from './call-track-protocol';
export { callRoom, callsRoom, tenantRoom, userRoom } from './call-track-rooms';
export type { CallTrackerReader } from './call-tracker-reader';
export type {
  AuthenticateSocket,
  ConnectErrorData,
  SocketCallTrackData,
} from './create-auth-middleware';
export { lifecycleEventName } from './lifecycle-event-name';
export type { SocketPrincipal } from './socket-principal';
