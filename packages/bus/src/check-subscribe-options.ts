import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';
import type { BusSubscribeOptions } from './event-bus';

/**
 * Rejects subscriptions that would leak across tenants or cannot be served, and options of the
 * wrong type (from JavaScript, or a client's JSON): before anything is attached or read, so
 * nothing is left registered and no later step fails where nobody catches it.
 */
export function checkSubscribeOptions(options: BusSubscribeOptions): void {
  const { tenantId, allTenants, after, callId, types } = options as Record<string, unknown>;
  if (after !== undefined && typeof after !== 'string') {
    throw new InvalidArgumentError({
      message: `subscribe(): \`after\` must be a cursor string, not ${typeName(after)}.`,
    });
  }
  if (callId !== undefined && typeof callId !== 'string') {
    throw new InvalidArgumentError({
      message: `subscribe(): \`callId\` must be a string, not ${typeName(callId)}.`,
    });
  }
  if (
    types !== undefined &&
    (!Array.isArray(types) || !types.every((type) => typeof type === 'string'))
  ) {
    throw new InvalidArgumentError({
      message: 'subscribe(): `types` must be an array of event type strings.',
    });
  }
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
  if (after !== undefined && tenantId === undefined) {
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

/** What a wrong value is, for a message that does not echo the value itself. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
