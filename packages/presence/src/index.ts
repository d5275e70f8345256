export type {
  PresenceMember,
  PresenceStatus,
  UserAddressedEvent,
  UserPresence,
} from '@calltrack/core';
export { isUserAddressedEvent, presenceStatuses, userAudience } from '@calltrack/core';
export { createMemoryPresenceStore } from './create-memory-presence-store';
export { createPresence } from './create-presence';
export type {
  ListMembersOptions,
  Presence,
  PresenceConnectInput,
  PresenceConnection,
  PresenceConnectOptions,
  PresenceCount,
  PresenceOptions,
  PresenceSweepReport,
  SendOptions,
  SendResult,
} from './presence';
export type { PresenceRecord, StoredConnection } from './presence-record';
export type {
  HeartbeatOutcome,
  HeartbeatReport,
  PresenceApplyResult,
  PresenceOperation,
  PresenceOperationBase,
  PresenceStore,
  PresenceStoreSettings,
  PresenceSweepResult,
  PresenceTenantPage,
} from './presence-store';
export type { PresenceEventType, PresenceTransition } from './presence-transition';
export type { MessageDelivery, QueuedMessage } from './queued-message';
export type { UserMessageData } from './to-message-event';
export type { PresenceEventData } from './to-presence-event';
export { TooManyConnectionsError } from './too-many-connections-error';
