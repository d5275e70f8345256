import { applyHeartbeatFastPath, applyPresenceOperation } from './apply-presence-operation';
import { operationCreatesUser } from './operation-creates-user';
import type { PresenceStore } from './presence-store';
import { type PresenceTenantState, toPresenceRecord } from './presence-tenant-state';
import { sweepPresenceTenant } from './sweep-presence-tenant';

/**
 * A presence store in this process's memory: for one process, tests and demos. It runs the
 * reference rules (`applyPresenceOperation`, `sweepPresenceTenant`) synchronously, so every
 * operation is atomic. Share one instance between `createPresence` instances to model several
 * processes in a test; use `createRedisPresenceStore` for real ones.
 *
 * A tenant is listed for the sweeper while it holds anything: its sweeps are what forget offline
 * users' records (after the retention), so it is dropped by the sweep that forgets its last one
 * with nothing left to publish.
 */
export function createMemoryPresenceStore(): PresenceStore {
  const tenants = new Map<string, PresenceTenantState>();
  const emptyTenant = (tenantId: string): PresenceTenantState => ({
    tenantId,
    users: new Map(),
    outbox: new Map(),
  });
  /** The tenant's state; kept only for an operation that may create a user (see the Redis store). */
  const tenantOf = (tenantId: string, keep: boolean): PresenceTenantState => {
    let tenant = tenants.get(tenantId);
    if (!tenant) {
      tenant = emptyTenant(tenantId);
      if (keep) tenants.set(tenantId, tenant);
    }
    return tenant;
  };

  return {
    apply: async (operation) =>
      applyPresenceOperation(
        tenantOf(operation.tenantId, operationCreatesUser(operation)),
        operation,
      ),
    sweep: async (tenantId, at, settings, limit) => {
      const tenant = tenantOf(tenantId, false);
      const result = sweepPresenceTenant(tenant, at, settings, limit);
      // Nothing left for a sweep (every record forgotten, every transition confirmed): the
      // tenant is no longer walked, until an operation that may create a user lists it again.
      if (tenant.users.size === 0 && tenant.outbox.size === 0) tenants.delete(tenantId);
      return result;
    },
    confirm: async (tenantId, eventIds) => {
      const tenant = tenants.get(tenantId);
      for (const eventId of eventIds) tenant?.outbox.delete(eventId);
    },
    listMembers: async (tenantId, statuses, limit) => {
      const tenant = tenants.get(tenantId);
      if (!tenant) return [];
      const wanted = new Set<string>(statuses);
      return [...tenant.users.values()]
        .filter((user) => wanted.has(user.status))
        .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
        .slice(0, limit)
        .map((user) => toPresenceRecord(tenantId, user));
    },
    countMembers: async (tenantId) => {
      const counts = { online: 0, away: 0 };
      for (const user of tenants.get(tenantId)?.users.values() ?? []) {
        if (user.status === 'online') counts.online += 1;
        else if (user.status === 'away') counts.away += 1;
      }
      return counts;
    },
    listTenants: async () => [...tenants.keys()],
    listTenantPage: async (cursor, limit) => {
      // By tenant id, after the last one of the previous page: a tenant listed or dropped
      // meanwhile moves no other.
      const after = [...tenants.keys()]
        .filter((tenantId) => cursor === undefined || tenantId > cursor)
        .sort();
      const page = after.slice(0, Math.max(1, limit));
      const last = page.at(-1);
      return page.length < after.length && last !== undefined
        ? { tenants: page, cursor: last }
        : { tenants: page };
    },
    heartbeat: async (tenantId, beats, at, settings) => {
      const tenant = tenants.get(tenantId);
      return beats.map(({ userId, connectionId }) => {
        const user = tenant?.users.get(userId);
        const outcome = applyHeartbeatFastPath(user, connectionId, at, settings);
        if (outcome !== 'ok') return outcome;
        // The state travels with the beat: the connection gives it back if the record is lost.
        if (user?.state === undefined) return { outcome };
        return user.stateAt === undefined
          ? { outcome, state: user.state }
          : { outcome, state: user.state, stateAt: user.stateAt };
      });
    },
  };
}
