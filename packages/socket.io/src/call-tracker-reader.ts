import type { CallTracker } from '@calltrack/tracker';

/**
 * What calltrack reads from the tracker: the snapshot for `active_calls` and one call for
 * `call_data`. A `CallTracker` from `@calltrack/tracker` (memory or Redis store) is one.
 */
export type CallTrackerReader = Pick<CallTracker, 'getCall' | 'listActiveCalls'>;
