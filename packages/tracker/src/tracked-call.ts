import type { CallSnapshot } from '@calltrack/core';

/**
 * What the tracker knows about one call.
 *
 * @deprecated Use `CallSnapshot` from `@calltrack/core`: the tracker's snapshots are core's
 * type, so packages that only read them do not need the tracker. This alias goes in a later
 * minor release.
 */
export type TrackedCall = CallSnapshot;
