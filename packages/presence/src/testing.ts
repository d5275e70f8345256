export type { PresenceStoreFactory, PresenceTestApi } from './describe-presence-store';
export { describePresenceStore } from './describe-presence-store';
