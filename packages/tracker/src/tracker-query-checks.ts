import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';
import type { ActiveListCursor } from './active-list-cursor';
import { parseIsoTime } from './parse-iso-time';

/**
 * Checks of the arguments the tracker's queries take from their callers (often straight from a
 * request): each throws `InvalidArgumentError`, answered 400 by the read API.
 */

/** A tenant id as core's `tenantIdSchema` defines it. */
export function checkTenantId(tenantId: string): void {
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
  }
}

/** An optional branch id: absent, or a non-empty string. */
export function checkBranchId(branchId: string | undefined): void {
  if (branchId !== undefined && (typeof branchId !== 'string' || branchId === '')) {
    throw new InvalidArgumentError({ message: 'branchId must be a non-empty string.' });
  }
}

/** An optional user id: absent, or a non-empty string. */
export function checkUserId(userId: string | undefined): void {
  if (userId !== undefined && (typeof userId !== 'string' || userId === '')) {
    throw new InvalidArgumentError({ message: 'userId must be a non-empty string.' });
  }
}

/** An optional `limit`: an integer from 1 to `max`; `fallback` when absent. */
export function checkLimit(
  limit: number | undefined,
  { fallback, max }: { fallback: number; max: number },
): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidArgumentError({ message: `limit must be an integer from 1 to ${max}.` });
  }
  return limit;
}

/**
 * An optional `after` of `listActiveCalls` (a call: its `callId`, and its `startedAt`, an ISO time;
 * a call without one is listed last, as if it started at 0), as the store's cursor.
 */
export function checkActiveListAfter(
  after: { callId: string; startedAt?: string | undefined } | undefined,
): ActiveListCursor | undefined {
  if (after === undefined) return undefined;
  const refuse = (): never => {
    throw new InvalidArgumentError({
      message: 'after must be a call: { callId, startedAt } (startedAt an ISO 8601 time).',
    });
  };
  if (after === null || typeof after !== 'object') return refuse();
  const { callId, startedAt } = after;
  if (typeof callId !== 'string' || callId === '') return refuse();
  if (startedAt === undefined) return { startedAt: 0, callId };
  const startedAtMs = typeof startedAt === 'string' ? parseIsoTime(startedAt) : Number.NaN;
  return Number.isFinite(startedAtMs) ? { startedAt: startedAtMs, callId } : refuse();
}
