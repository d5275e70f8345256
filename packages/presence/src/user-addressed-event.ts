import type { CallEvent } from '@calltrack/core';

/**
 * The mark of a user-addressed event: `data.audience` set to this, and `userId` naming the
 * user. Transports deliver such an event only to that user's connections in the event's tenant
 * (never to the rest of the tenant, nor to all-tenants views), and resume covers it like any
 * other event.
 */
export const userAudience = 'user';

/** A user-addressed event: `data.audience === 'user'` and a `userId`. */
export type UserAddressedEvent = CallEvent & {
  userId: string;
  data: CallEvent['data'] & { audience: typeof userAudience };
};

/**
 * True when `event` is meant only for one user ({@link userAudience}). A transport checks it
 * for every event before fan-out: `isUserAddressedEvent(event) ? event.userId === principal.userId : true`.
 */
export function isUserAddressedEvent(event: CallEvent): event is UserAddressedEvent {
  return event.data?.audience === userAudience && typeof event.userId === 'string';
}
