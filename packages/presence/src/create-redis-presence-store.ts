import type { PresenceStatus } from '@calltrack/core';
import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';
import { catchRedisStoreErrors, checkNoKeyPrefix } from '@calltrack/core/internal';
import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import { operationCreatesUser } from './operation-creates-user';
import type { PresenceRecord, StoredConnection } from './presence-record';
import type {
  HeartbeatOutcome,
  HeartbeatReport,
  PresenceApplyResult,
  PresenceOperation,
  PresenceStore,
  PresenceStoreSettings,
  PresenceSweepResult,
  PresenceTenantPage,
} from './presence-store';
import { compareConnections } from './presence-tenant-state';
import type { PresenceEventType, PresenceTransition } from './presence-transition';
import type { MessageDelivery, QueuedMessage } from './queued-message';
import {
  applyOperationScript,
  closeListingScript,
  heartbeatBatchScript,
  listMembersScript,
  listTenantScript,
  sweepTenantScript,
  unlistTenantScript,
} from './redis-presence-scripts';

/** Options of {@link createRedisPresenceStore}. */
export interface RedisPresenceStoreOptions {
  /**
   * Your ioredis client (a `Redis` or a `Cluster`; Redis 6.2 or later). The store only sends
   * commands on it: it never connects, subscribes, registers commands or closes it.
   */
  redis: Redis | Cluster;
  /**
   * Prefix of every key. Default `calltrack:presence`. Keys of one tenant share the hash tag
   * `{tenantId}`, so every operation is a single-slot script on Redis Cluster.
   */
  prefix?: string;
}

const applyScript = defineRedisScript(applyOperationScript);
const sweepScript = defineRedisScript(sweepTenantScript);
const heartbeatScript = defineRedisScript(heartbeatBatchScript);
const listScript = defineRedisScript(listMembersScript);
const listTenant = defineRedisScript(listTenantScript);
const closeListing = defineRedisScript(closeListingScript);
const unlistTenant = defineRedisScript(unlistTenantScript);
const heartbeatOutcomes: readonly HeartbeatOutcome[] = ['ok', 'missing', 'slow'];
/**
 * Times an operation lists its tenant again when an unlisting overtook it: each time needs a
 * whole unlisting of the tenant between this instance's listing and its operation.
 */
const maxRelistings = 8;

/**
 * A presence store on Redis, for many processes sharing presence. Every operation is one Lua
 * script (a heartbeat that cannot change its user's status touches one hash field), which
 * settles the user, decides at most one transition into the outbox and claims queued messages,
 * so each transition is decided once however many processes race. Counts are `SCARD`s; nothing
 * runs `KEYS` or `SCAN` (`listTenantPage` pages the tenants hash with `HSCAN`, the one key it
 * reads), and nothing relies on keyspace notifications: expiry is decided by the
 * sweep from a sorted set of deadlines.
 *
 * Layout, per tenant (`<prefix>:{<tenant>}:`): `u:<user>` (hash: the user and their
 * connections), `due` (sorted set of deadlines), `online` and `away` (sets), `outbox` and
 * `outbox:t` (unconfirmed transitions), `q:<user>` (list: the offline queue, expiring with its
 * newest message), `drains` (sorted set of delivery claims), `listing` (hash: the tenant's
 * listing numbers). Plus `<prefix>:tenants`, the hash of tenants the sweeper walks (tenant →
 * listing number). An offline user's hash expires after the retention. A sweep that finds
 * nothing left in a tenant it walks (no connection, outbox or claim) unlists it; an operation
 * that may create a user lists it again, never losing to a concurrent unlisting (see
 * `listTenantScript`).
 */
export function createRedisPresenceStore(options: RedisPresenceStoreOptions): PresenceStore {
  if (options == null || typeof options !== 'object' || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisPresenceStore needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisPresenceStore', redis);
  const prefix = options.prefix ?? 'calltrack:presence';
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidArgumentError({
      message: 'createRedisPresenceStore: prefix must be a non-empty string without "{" or "}".',
    });
  }
  const tenantsKey = `${prefix}:tenants`;
  /**
   * The listing number (see `listTenantScript`) each tenant's operations that may create a user
   * carry: one an operation of this instance was accepted with, so the tenant's records know it
   * (the apply script refuses it once they do not: they were lost, or it was unlisted). A number
   * no operation was accepted with yet is never kept: the operation that listed it may have
   * failed, and Redis may lose it or a sweep unlist it before another operation carries it.
   * `listTenants` (every sweep) lists again tenants still in use that Redis lost.
   */
  const listings = new Map<string, string>();
  /** Tenants the last `listTenants` returned: a sweep that finds one with nothing left unlists it. */
  const walked = new Set<string>();

  const baseOf = (tenantId: string): string => {
    if (!tenantIdSchema.safeParse(tenantId).success) {
      throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
    }
    return `${prefix}:{${tenantId}}:`;
  };

  // The settings travel packed in one argument (see the scripts); packed once per object.
  const packed = new WeakMap<PresenceStoreSettings, string>();
  const pack = (settings: PresenceStoreSettings): string => {
    let text = packed.get(settings);
    if (text === undefined) {
      text = [
        settings.connectionTtlMs,
        settings.awayAfterMs,
        settings.leaveDelayMs,
        settings.publishLeaseMs,
        Math.max(settings.offlineRetentionMs, settings.queueMaxAgeMs),
        settings.maxConnectionsPerUser,
        settings.queueMaxMessages,
        settings.queueMaxAgeMs,
        settings.deliveryBatchSize,
      ].join(',');
      packed.set(settings, text);
    }
    return text;
  };

  /** Lists a tenant with a number above `above`. Returns the number. */
  const list = async (tenantId: string, above: string): Promise<string> =>
    String(await runRedisScript(redis, listTenant, [tenantsKey], [tenantId, above]));

  /**
   * Unlists a tenant a sweep found with nothing left: raises its watermark to its listing number
   * (refusing operations listed before), then removes it unless it was listed again meanwhile.
   */
  const unlist = async (
    tenantId: string,
    base: string,
    settings: PresenceStoreSettings,
  ): Promise<void> => {
    const number = await redis.hget(tenantsKey, tenantId);
    if (number !== null) {
      const retention = Math.max(settings.offlineRetentionMs, settings.queueMaxAgeMs);
      const watermark = String(
        await runRedisScript(redis, closeListing, [`${base}listing`], [base, number, retention]),
      );
      if (watermark === '') return; // in use again
      const removed = await runRedisScript(
        redis,
        unlistTenant,
        [tenantsKey],
        [tenantId, watermark],
      );
      if (removed !== 1) return; // listed again meanwhile
    }
    walked.delete(tenantId);
    listings.delete(tenantId);
  };

  const apply = async (operation: PresenceOperation): Promise<PresenceApplyResult> => {
    const base = baseOf(operation.tenantId);
    const args: (string | number)[] = [
      operation.kind,
      operation.at,
      pack(operation.settings),
      base,
      operation.userId,
      operation.read ? '1' : '0',
    ];
    switch (operation.kind) {
      case 'connect':
        args.push(
          operation.connectionId,
          operation.data ?? '',
          operation.away ? '1' : '0',
          operation.state ?? '',
          operation.stateAt ?? '',
          operation.token ?? '',
        );
        break;
      case 'heartbeat':
        args.push(operation.connectionId);
        break;
      case 'update':
        args.push(operation.connectionId, operation.data ?? '');
        break;
      case 'away':
        args.push(operation.connectionId, operation.away ? '1' : '0');
        break;
      case 'disconnect':
        args.push(operation.connectionId, operation.immediate ? '1' : '0', operation.token ?? '');
        break;
      case 'state':
        args.push(operation.state);
        break;
      case 'send':
        args.push(operation.messageId, operation.body);
        break;
      case 'ack':
        args.push(String(operation.token), operation.lastSequence);
        break;
      case 'settle':
        break;
    }
    // List the tenant for the sweeper before the step may create its first user: a separate
    // script (the tenants hash lives outside the tenant's hash slot), so a step that lands when
    // the listing did not (a dropped connection, a killed process) would leave a user no sweep
    // visits. Once per tenant and store instance while it stays listed, and only for a step
    // that may create a user; the step is refused if the tenant was unlisted since. Only the
    // step right after its own listing runs it as fresh (the tenants hash held the number a
    // moment ago, so the tenant's records need not know it yet).
    let number: string | undefined;
    let fresh = false;
    if (operationCreatesUser(operation)) {
      number = listings.get(operation.tenantId);
      if (number === undefined) {
        number = await list(operation.tenantId, '0');
        fresh = true;
      }
    }
    type ApplyReply = [
      string,
      string?,
      string?,
      string[]?,
      string[]?,
      (number | string)?,
      number?,
      number?,
      number?,
    ];
    let reply: ApplyReply;
    for (let relistings = 0; ; relistings += 1) {
      reply = (await runRedisScript(
        redis,
        applyScript,
        [`${base}u:${operation.userId}`],
        number === undefined ? args : [...args, number, fresh ? '1' : '0'],
      )) as ApplyReply;
      if (reply[0] !== 'relist') break;
      if (relistings === maxRelistings) {
        throw new Error(
          `Tenant ${JSON.stringify(operation.tenantId)} was unlisted ${maxRelistings + 1} times while listing it; try again.`,
        );
      }
      number = await list(operation.tenantId, String(reply[1]));
      fresh = true;
    }
    if (number !== undefined) {
      listings.set(operation.tenantId, number);
      // Redis may have lost the listing between it and the step (a restart without
      // persistence: the step then found no records to refuse it), and a process that never
      // sweeps would not list the tenant again: check once, after the step, and list it again.
      // Any number will do (unlisting raises the watermark to the highest number the tenant's
      // records know, this one included), and operations keep carrying this one.
      if (fresh && (await redis.hget(tenantsKey, operation.tenantId)) === null) {
        await list(operation.tenantId, '0');
      }
    }
    const [outcome, transition, token, messages, record, sequence, queued, dropped, created] =
      reply;
    const result: PresenceApplyResult = { outcome: outcome as PresenceApplyResult['outcome'] };
    if (transition) result.transition = decodeTransition(operation.tenantId, transition);
    if (token) result.delivery = decodeDelivery(token, messages ?? []);
    if (operation.read && record && record.length > 0) {
      result.record = decodeUserHash(operation.tenantId, operation.userId, record);
    }
    if (operation.kind === 'send' && typeof sequence === 'number') {
      result.sequence = sequence;
      result.queued = queued === 1;
    }
    if (dropped) result.dropped = dropped;
    if (created === 1) result.created = true;
    return result;
  };

  const sweep = async (
    tenantId: string,
    at: number,
    settings: PresenceStoreSettings,
    limit: number,
  ): Promise<PresenceSweepResult> => {
    const base = baseOf(tenantId);
    const reply = (await runRedisScript(
      redis,
      sweepScript,
      [`${base}due`],
      ['sweep', at, pack(settings), base, limit],
    )) as [string[], [string, string, string[]][], number, number, number];
    const [transitions, deliveries, dropped, more, idle] = reply;
    // Only a tenant the sweeper walks: a read of a tenant nobody is in writes nothing.
    if (idle === 1 && walked.has(tenantId)) await unlist(tenantId, base, settings);
    return {
      transitions: transitions.map((transition) => decodeTransition(tenantId, transition)),
      deliveries: deliveries.map(([userId, token, messages]) => ({
        userId,
        delivery: decodeDelivery(token, messages),
      })),
      dropped,
      more: more === 1,
    };
  };

  const confirm = async (tenantId: string, eventIds: readonly string[]): Promise<void> => {
    if (eventIds.length === 0) return;
    const base = baseOf(tenantId);
    const replies =
      (await redis
        .multi()
        .zrem(`${base}outbox`, ...eventIds)
        .hdel(`${base}outbox:t`, ...eventIds)
        .exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
  };

  const listMembers = async (
    tenantId: string,
    statuses: readonly ('online' | 'away')[],
    limit: number,
  ): Promise<PresenceRecord[]> => {
    const base = baseOf(tenantId);
    const wanted = [...new Set(statuses)];
    // The lowest ids in the memory store's order, then their hashes in one script that keeps
    // only users whose status is still one asked for: Redis reads `limit` hashes, whatever the
    // tenant's size, and nobody is listed with a status not asked for.
    const pipeline = redis.pipeline();
    for (const status of wanted) pipeline.smembers(`${base}${status}`);
    const ids = new Set<string>();
    for (const [error, members] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      for (const userId of members as string[]) ids.add(userId);
    }
    const sorted = [...ids].sort(compareIds);
    const records: PresenceRecord[] = [];
    // Users chosen who changed status meanwhile are left out: the next ids fill their places, so
    // a list shorter than `limit` means there are no more (the transports say such a list is
    // whole).
    for (let next = 0; next < sorted.length && records.length < limit; ) {
      const chosen = sorted.slice(next, next + limit - records.length);
      next += chosen.length;
      const members = (await runRedisScript(
        redis,
        listScript,
        [`${base}online`],
        [base, wanted.length, ...wanted, ...chosen],
      )) as [string, string[]][];
      for (const [userId, flat] of members) records.push(decodeUserHash(tenantId, userId, flat));
    }
    return records;
  };

  const countMembers = async (tenantId: string): Promise<{ online: number; away: number }> => {
    const base = baseOf(tenantId);
    const replies =
      (await redis.pipeline().scard(`${base}online`).scard(`${base}away`).exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    return { online: Number(replies[0]?.[1] ?? 0), away: Number(replies[1]?.[1] ?? 0) };
  };

  const heartbeat = async (
    tenantId: string,
    beats: readonly { userId: string; connectionId: string }[],
    at: number,
    settings: PresenceStoreSettings,
  ): Promise<(HeartbeatOutcome | HeartbeatReport)[]> => {
    if (beats.length === 0) return [];
    const base = baseOf(tenantId);
    const replies = (await runRedisScript(
      redis,
      heartbeatScript,
      beats.map((beat) => `${base}u:${beat.userId}`),
      [at, pack(settings), ...beats.map((beat) => beat.connectionId)],
    )) as (string | number)[];
    return replies.map((reply) => {
      if (typeof reply === 'number') return heartbeatOutcomes[reply] ?? 'slow';
      if (reply === '') return { outcome: 'ok' };
      const bar = reply.indexOf('|');
      const state = reply.slice(bar + 1);
      return bar === 0
        ? { outcome: 'ok', state }
        : { outcome: 'ok', state, stateAt: Number(reply.slice(0, bar)) };
    });
  };

  /**
   * `HSCAN` of the tenants hash: bounded by `COUNT` (a hash small enough for Redis's compact
   * encoding comes whole, as it is small), each tenant listed for the whole walk at least once.
   */
  const listTenantPage = async (
    cursor: string | undefined,
    limit: number,
  ): Promise<PresenceTenantPage> => {
    const [next, flat] = await redis.hscan(tenantsKey, cursor ?? '0', 'COUNT', Math.max(1, limit));
    const tenants: string[] = [];
    for (let index = 0; index < flat.length; index += 2) {
      const tenantId = flat[index]!;
      if (tenantId !== '{seq}') tenants.push(tenantId);
    }
    return next === '0' ? { tenants } : { tenants, cursor: next };
  };

  const store: PresenceStore = {
    apply,
    sweep,
    confirm,
    listMembers,
    countMembers,
    listTenants: async () => {
      const listed = (await redis.hkeys(tenantsKey)).filter((tenantId) => tenantId !== '{seq}');
      const known = new Set(listed);
      // Listed by this instance and gone: unlisted by a sweep, or lost with Redis's data while
      // still in use (its connections, outbox or claims are there): those are listed again.
      // Operations keep carrying the number they were accepted with (no operation carries this
      // one, which the tenant's records do not know).
      for (const tenantId of [...listings.keys()].filter((tenantId) => !known.has(tenantId))) {
        const base = baseOf(tenantId);
        if ((await redis.exists(`${base}due`, `${base}outbox`, `${base}drains`)) > 0) {
          await list(tenantId, '0');
          listed.push(tenantId);
        } else {
          listings.delete(tenantId);
        }
      }
      walked.clear();
      for (const tenantId of listed) walked.add(tenantId);
      return listed;
    },
    listTenantPage,
    heartbeat,
  };
  // Redis refusing commands (out of memory, a replica after a failover…) is an outage like an
  // unreachable Redis: `RedisUnavailableError` (a transport answers a connect 503; sweeps and
  // heartbeats report it once per outage). Nothing the store rejects with carries the values it
  // wrote (a connection's data, a queued message's body).
  return catchRedisStoreErrors(redis, store, {
    apply: { operation: 'applying a presence operation', writes: true },
    sweep: { operation: 'sweeping a tenant', writes: true },
    confirm: { operation: 'confirming published transitions', writes: true },
    listMembers: { operation: 'listing members', writes: false },
    countMembers: { operation: 'counting members', writes: false },
    listTenants: { operation: 'listing tenants', writes: true },
    listTenantPage: { operation: 'listing a page of tenants', writes: false },
    heartbeat: { operation: 'recording heartbeats', writes: true },
  });
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A connection as the scripts encode it into transition JSON. */
interface ScriptConnection {
  connectionId: string;
  connectedAt: number;
  lastSeenAt: number;
  expiresAt: number;
  idleAt: number;
  away: boolean;
  leaving: boolean;
  data?: string;
}

/** A transition as the scripts encode it (cjson writes an empty array as `{}`). */
interface ScriptTransition {
  eventId: string;
  type: PresenceEventType;
  userId: string;
  previousStatus: PresenceStatus;
  at: number;
  record: {
    userId: string;
    status: PresenceStatus;
    state?: string;
    stateAt?: number;
    since?: number;
    version: number;
    epoch: number;
    connections: ScriptConnection[] | Record<string, never>;
  };
}

function decodeTransition(tenantId: string, json: string): PresenceTransition {
  const transition = JSON.parse(json) as ScriptTransition;
  const { record } = transition;
  const connections = Array.isArray(record.connections) ? record.connections : [];
  return {
    eventId: transition.eventId,
    type: transition.type,
    tenantId,
    userId: transition.userId,
    previousStatus: transition.previousStatus,
    at: transition.at,
    record: {
      tenantId,
      userId: record.userId,
      status: record.status,
      ...(record.state === undefined ? {} : { state: record.state }),
      ...(record.stateAt === undefined ? {} : { stateAt: record.stateAt }),
      ...(record.since === undefined ? {} : { since: record.since }),
      version: record.version,
      epoch: record.epoch,
      connections: connections
        .map((connection) => ({
          connectionId: connection.connectionId,
          connectedAt: connection.connectedAt,
          lastSeenAt: connection.lastSeenAt,
          expiresAt: connection.expiresAt,
          idleAt: connection.idleAt,
          away: connection.away,
          leaving: connection.leaving,
          ...(connection.data === undefined ? {} : { data: connection.data }),
        }))
        .sort(compareConnections),
    },
  };
}

function decodeDelivery(token: string, entries: readonly string[]): MessageDelivery {
  return { token: Number(token), messages: entries.map(decodeQueuedMessage) };
}

/** `seq|sentAt|messageId|body` (message ids cannot hold `|`; the body may). */
function decodeQueuedMessage(entry: string): QueuedMessage {
  const first = entry.indexOf('|');
  const second = entry.indexOf('|', first + 1);
  const third = entry.indexOf('|', second + 1);
  return {
    sequence: Number(entry.slice(0, first)),
    sentAt: Number(entry.slice(first + 1, second)),
    messageId: entry.slice(second + 1, third),
    body: entry.slice(third + 1),
  };
}

const timingPattern = /^(\d+)\|(\d+)\|(\d+)\|(\d+)\|([a-z]*)$/;

/** A user's hash (`HGETALL`, flattened) as a {@link PresenceRecord}. */
function decodeUserHash(tenantId: string, userId: string, flat: readonly string[]): PresenceRecord {
  const fields = new Map<string, string>();
  const connections = new Map<string, StoredConnection>();
  const data = new Map<string, string>();
  for (let index = 0; index + 1 < flat.length; index += 2) {
    const field = flat[index]!;
    const value = flat[index + 1]!;
    if (field.startsWith('c:')) {
      const match = timingPattern.exec(value);
      if (!match) continue;
      const connectionId = field.slice(2);
      connections.set(connectionId, {
        connectionId,
        lastSeenAt: Number(match[1]),
        expiresAt: Number(match[2]),
        idleAt: Number(match[3]),
        connectedAt: Number(match[4]),
        away: match[5]!.includes('a'),
        leaving: match[5]!.includes('l'),
      });
    } else if (field.startsWith('d:')) {
      data.set(field.slice(2), value);
    } else {
      fields.set(field, value);
    }
  }
  for (const [connectionId, json] of data) {
    const connection = connections.get(connectionId);
    if (connection) connection.data = json;
  }
  const state = fields.get('st');
  const stateAt = fields.get('sa');
  const since = fields.get('sn');
  return {
    tenantId,
    userId,
    status: (fields.get('s') ?? 'offline') as PresenceStatus,
    ...(state === undefined ? {} : { state }),
    ...(stateAt === undefined ? {} : { stateAt: Number(stateAt) }),
    ...(since === undefined ? {} : { since: Number(since) }),
    version: Number(fields.get('v') ?? 0),
    epoch: Number(fields.get('e') ?? 0),
    connections: [...connections.values()].sort(compareConnections),
  };
}
