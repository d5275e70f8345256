/**
 * A user's connectivity, across every connection on every process:
 * - `online`: at least one connection heartbeats and is not set away;
 * - `away`: connected, but no connection heartbeated within `awayAfterMs` or every connection
 *   was set away by the app;
 * - `offline`: no connection (the last one left, or expired after a crash).
 */
export const presenceStatuses = ['online', 'away', 'offline'] as const;

/** One of {@link presenceStatuses}. */
export type PresenceStatus = (typeof presenceStatuses)[number];
