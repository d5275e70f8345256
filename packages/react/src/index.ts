export type { CallEventFilter } from './call-event-filter';
export { CallTrackApiError } from './call-track-api-error';
export { CallTrackConnectionError } from './call-track-connection-error';
export type { CallTrackProviderProps } from './call-track-provider';
export { CallTrackProvider } from './call-track-provider';
export type { CallTrackRefreshFailure } from './call-track-refresh-error';
export { CallTrackRefreshError } from './call-track-refresh-error';
export type {
  CallTrackConnectionState,
  CallTrackPresenceState,
  CallTrackState,
  CallTrackTenantPresence,
} from './call-track-state';
export type {
  CallTrackConnection,
  CallTrackTransport,
  CallTrackTransportSink,
} from './call-track-transport';
export type {
  AnalyticsRange,
  CallTrackApi,
  CallTrackApiOptions,
  PlaceCallInput,
  PlacedCallResult,
} from './create-call-track-api';
export { createCallTrackApi } from './create-call-track-api';
export type {
  CallEventListener,
  CallTrackClient,
  CallTrackClientOptions,
  CallTrackRefreshOptions,
  WatchCallOptions,
} from './create-call-track-client';
export { createCallTrackClient } from './create-call-track-client';
export type { RetryDelay } from './retry-delay';
export type { AuthOption, SocketIoTransportOptions, SocketLike } from './socket-io-transport';
export { socketIoTransport } from './socket-io-transport';
export type {
  EventSourceConstructor,
  EventSourceLike,
  SseTransportOptions,
} from './sse-transport';
export { sseTransport } from './sse-transport';
export type {
  TrpcActiveCallsSnapshot,
  TrpcCallStreamMessage,
  TrpcSubscribeHandlers,
  TrpcTransportOptions,
} from './trpc-transport';
export { trpcTransport } from './trpc-transport';
export type { UseActiveCallsResult } from './use-active-calls';
export { useActiveCalls } from './use-active-calls';
export type { UseAlertsResult } from './use-alerts';
export { useAlerts } from './use-alerts';
export type { UseAnalyticsOptions, UseAnalyticsResult } from './use-analytics';
export { useAnalytics } from './use-analytics';
export { useCall } from './use-call';
export { useCallCompleted } from './use-call-completed';
export type { CallControlPlaceInput, UseCallControlResult } from './use-call-control';
export { useCallControl } from './use-call-control';
export { useCallEvents } from './use-call-events';
export { useCallTrackClient } from './use-call-track-client';
export { useCallTrackState } from './use-call-track-state';
export { useConnectionState } from './use-connection-state';
export { useMemberCount } from './use-member-count';
export type { PresenceScopeOptions } from './use-online-members';
export { useOnlineMembers } from './use-online-members';
export type { UsePresenceResult } from './use-presence';
export { usePresence } from './use-presence';
