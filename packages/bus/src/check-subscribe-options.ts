import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';
import type { BusSubscribeOptions } from './event-bus';

/** Rejects subscriptions that would leak across tenants or cannot be served. */
export function checkSubscribeOptions(options: BusSubscribeOptions): void {
  const { tenantId, allTenants } = options;
  if (tenantId === undefined && allTenants !== true) {
    throw new InvalidArgumentError({
      message: 'subscribe() needs a tenantId, or allTenants: true for a cross-tenant view.',
    });
  }
  if (tenantId !== undefined && allTenants === true) {
    throw new InvalidArgumentError({
      message: 'subscribe() takes either a tenantId or allTenants: true, not both.',
    });
  }
  if (tenantId !== undefined && !tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({
      message: `subscribe(): invalid tenantId ${JSON.stringify(tenantId)}.`,
    });
  }
  if (options.after !== undefined && tenantId === undefined) {
    throw new InvalidArgumentError({
      message: 'subscribe(): resuming with `after` needs a tenantId (cursors are per tenant).',
    });
  }
}

/** Rejects a malformed tenant id given to `method` (`position()`). */
export function checkBusTenantId(tenantId: unknown, method: string): asserts tenantId is string {
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({
      message: `${method}: invalid tenantId ${JSON.stringify(tenantId)}.`,
    });
  }
}
