import type { CallSnapshot } from '@calltrack/core';

/**
 * A call as the server's tracker describes it.
 *
 * @deprecated Use `CallSnapshot` from `@calltrack/core`: this alias of it goes away in a later
 * release.
 */
export type ActiveCall = CallSnapshot;
