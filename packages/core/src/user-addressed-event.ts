import type { CallEvent } from './call-event-schema';
import type { Principal } from './principal';

/**
 * The mark of a user-addressed event: `data.audience` set to this, and `userId` naming the
 * user. Transports deliver such an event only to that user's connections in the event's tenant
 * (never to the rest of the tenant, nor to another user's all-tenants view), and resume covers
 * it like any other event.
 */
export const userAudience = 'user';

/** A user-addressed event: `data.audience === 'user'` and a `userId`. */
export type UserAddressedEvent = CallEvent & {
  userId: string;
  data: CallEvent['data'] & { audience: typeof userAudience };
};

/** True when `event` is meant only for one user ({@link userAudience}). */
export function isUserAddressedEvent(event: CallEvent): event is UserAddressedEvent {
  return event.data?.audience === userAudience && typeof event.userId === 'string';
}

/**
 * Whether a connection of `principal` may receive `event`, as far as its audience goes (tenant
 * scoping is the transport's, as before): every event that is not user-addressed, and a
 * user-addressed one only when the principal is that user in that tenant. A principal without
 * a `userId` gets none; an all-tenants principal gets its own user's only.
 */
export function isEventForPrincipal(event: CallEvent, principal: Principal): boolean {
  if (!isUserAddressedEvent(event)) return true;
  return event.userId === principal.userId && event.tenantId === principal.tenantId;
}
