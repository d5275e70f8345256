import { randomUUID } from 'node:crypto';
import type { CallSnapshot } from '@calltrack/core';
import {
  BusUnavailableError,
  type CallEvent,
  CallTrackError,
  InvalidArgumentError,
  RedisUnavailableError,
  tenantIdSchema,
} from '@calltrack/core';
import {
  checkNoKeyPrefix,
  followRedisReachability,
  redactErrorValues,
  redisClientClosedError,
} from '@calltrack/core/internal';
import { type RedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import type { ActiveCallCount } from './active-call-count';
import { activeListCursorOf, isListedAfter } from './active-list-cursor';
import {
  type AnalyticsGranularity,
  analyticsBucketMs,
  analyticsBucketStart,
} from './analytics-granularity';
import { needsKeysOutcome } from './apply-call-transition-lua';
import { type CallDetails, callDetailNames } from './call-details';
import type {
  AnalyticsBucketData,
  CallApplyResult,
  CallEventKey,
  CallStore,
  ListActiveCallsQuery,
  ListEndedCallsQuery,
  UnpublishedEnd,
} from './call-store';
import { type CallTransition, callIdentityFills } from './call-transition';
import {
  decodeRedisAnalyticsBucket,
  redisAnalyticsBucketKey,
  redisAnalyticsBucketLayout,
  redisAnalyticsFoldKeys,
} from './redis-analytics-bucket';
import {
  type ApplyTransitionReply,
  applyTransitionIndexKeys,
  applyTransitionScript,
  decodeApplyTransitionReply,
  encodeApplyTransitionArgs,
} from './redis-apply-transition-script';
import { redisCallHashPrefixes, redisCallSnapshotFields } from './redis-call-hash';
import {
  type RedisCallStoreIngest,
  type RedisIngestPublished,
  redisCallStoreIngestKey,
} from './redis-call-store-ingest';
import {
  claimCallAlertScript,
  claimUnpublishedEndsScript,
  foldAnalyticsLogScript,
  listActiveCallsAfterScript,
  markPublishedScript,
  markPublishFailedScript,
} from './redis-call-store-scripts';
import { type RedisFunction, runRedisFunction } from './redis-function';
import { busPublishFailedPrefix, defineRedisIngestFunction } from './redis-ingest-script';
import { type RedisStoreFailureContext, toRedisStoreFailure } from './redis-store-failure';
import type { StoredCall } from './stored-call';
import { toCallSnapshot } from './to-call-snapshot';

/** Options of {@link createRedisCallStore}. */
export interface RedisCallStoreOptions {
  /**
   * Your ioredis client (a `Redis` or a `Cluster`). The store only sends commands on it and
   * listens for its first `ready`: it never connects, subscribes, registers commands or closes it.
   */
  redis: Redis | Cluster;
  /**
   * Prefix of every key. Default `calltrack:tracker`. Keys of one tenant share the hash tag
   * `{tenantId}`, so each transition is a single-slot script on Redis Cluster.
   */
  prefix?: string;
  /**
   * Whether each event's script names every key it touches (the tenant's indexes too), so that
   * while a Redis Cluster slot migrates, Redis runs it only where all of them are (`TRYAGAIN`
   * otherwise). Default: on for a `Cluster` client, off for a `Redis` one, where declaring costs
   * each event eight more arguments and a few percent more Redis work and buys nothing. Turn it
   * on for a Redis-compatible server that requires scripts to declare their keys. Maintenance
   * scripts always declare theirs.
   */
  declareKeys?: boolean;
}

type RedisValue = string | null;

/**
 * How long a process trusts that a tenant it registered is still in `<prefix>:tenants` before it
 * registers it again (by the tracker's clock): after Redis lost its data, the reaper and the
 * outbox find the tenant again within this time of its next event.
 */
const tenantRegistrationMs = 60_000;

/** Active calls a `ZSCAN` page asks for while looking for a user's calls (a hint to Redis). */
const userScanPage = 1000;

/** Tenant ids whose key base a store remembers before it starts over (memory stays bounded). */
const maxKnownTenants = 10_000;

/**
 * How many times a script that answered the keys it needs besides those declared is run again
 * with them (each run may find more: another event changed the call's branch, or the log grew).
 */
const maxKeyRounds = 4;

/**
 * A call store on Redis, for many processes sharing live call state. Each transition is one Lua
 * script that decides duplicate / apply / ignore / end-once and maintains the active-call
 * indexes and the per-branch counters in the same step, so counts are O(1) reads (`ZCARD`, one
 * small hash) and never drift; what analytics count goes to a log in that step, folded into the
 * buckets in batches and before every read (decision 0070).
 *
 * Layout, per tenant (`<prefix>:{<tenant>}:`): `call:<callId>` (hash: the call, its event marks,
 * detail positions and alerts taken), `active` and `active:branch:<branch>` (sorted sets by start
 * time), `branches` (hash of counts), `stale` (sorted set by when each goes stale, for the reaper),
 * `outbox` (sorted set of unconfirmed `call.ended`), `an:<granularity>:<start>` (analytics
 * hashes, with a TTL) and `an:log` (what they do not hold yet), `alert:<key>` (alert cooldowns); `ended` and `ended:branch:<branch>`
 * (recently ended calls). Plus `<prefix>:tenants`, the set of tenants the reaper and the outbox
 * walk. Ended calls expire `endedCallRetentionMs` after their last change.
 *
 * Applying a transition is one round trip: the script, plus, at most once a minute per tenant and
 * process, an `SADD` to the tenants set written alongside it. With a Redis bus on the same
 * deployment the tracker publishes in that same script (decision 0030): one round trip per
 * ingested event, publish included, and no confirmation.
 *
 * Every script declares each key it touches (Redis Cluster checks only those while a slot
 * moves): a step whose call is stored under another branch than the event names runs again with
 * that branch's keys, and the step that fills the analytics log is followed by the fold (a script
 * of its own, which declares the buckets).
 */
export function createRedisCallStore(options: RedisCallStoreOptions): CallStore {
  if (options == null || typeof options !== 'object' || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisCallStore needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisCallStore', redis);
  const prefix = options.prefix ?? 'calltrack:tracker';
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidArgumentError({
      message: 'createRedisCallStore: prefix must be a non-empty string without "{" or "}".',
    });
  }
  if (options.declareKeys !== undefined && typeof options.declareKeys !== 'boolean') {
    throw new InvalidArgumentError({
      message: 'createRedisCallStore: declareKeys must be true or false.',
    });
  }
  const declareKeys = options.declareKeys ?? redis.isCluster === true;
  const tenantsKey = `${prefix}:tenants`;

  // From the client's first ready on, a command is sent at once or refused.
  const unreachable = followRedisReachability(redis);

  // The key base of each tenant id already checked: the tracker validated the event's tenant
  // before the store sees it, so an apply and its confirmation do not run it through zod again.
  const bases = new Map<string, string>();
  const baseOf = (tenantId: string): string => {
    const known = bases.get(tenantId);
    if (known !== undefined) return known;
    if (!tenantIdSchema.safeParse(tenantId).success) {
      throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
    }
    if (bases.size >= maxKnownTenants) bases.clear();
    const base = `${prefix}:{${tenantId}}:`;
    bases.set(tenantId, base);
    return base;
  };
  const callKey = (tenantId: string, callId: string): string => `${baseOf(tenantId)}call:${callId}`;

  // Tenants this process put in the tenants set, by the tracker's clock when it did: each apply
  // of a tenant not registered within `tenantRegistrationMs` sends one SADD alongside its
  // script (the set lives outside the tenant's hash slot, so the script cannot write it).
  const registeredTenants = new Map<string, number>();
  const registerTenant = (tenantId: string, at: number): Promise<void> | undefined => {
    const registeredAt = registeredTenants.get(tenantId);
    if (
      registeredAt !== undefined &&
      at >= registeredAt &&
      at - registeredAt < tenantRegistrationMs
    ) {
      return undefined;
    }
    if (registeredTenants.size >= maxKnownTenants) registeredTenants.clear();
    registeredTenants.set(tenantId, at);
    return redis.sadd(tenantsKey, tenantId).then(
      () => undefined,
      () => {
        // Not registered after all: the tenant's next apply sends it again.
        registeredTenants.delete(tenantId);
      },
    );
  };

  // The index keys an apply step declares, per tenant and branch (made once: the step is hot).
  const indexKeys = new Map<string, readonly string[]>();
  const indexKeysOf = (base: string, branchId: string | undefined): readonly string[] => {
    const name = branchId === undefined ? base : `${base}\n${branchId}`;
    let keys = indexKeys.get(name);
    if (keys === undefined) {
      keys = applyTransitionIndexKeys(base, branchId);
      if (indexKeys.size >= maxKnownTenants) indexKeys.clear();
      indexKeys.set(name, keys);
    }
    return keys;
  };

  /** Reads the Redis type of each key (a failure's diagnosis: one command per key, Cluster-safe). */
  const readTypes = (keys: readonly string[]): Promise<(string | undefined)[]> =>
    Promise.all(keys.map((key) => redis.type(key).catch(() => undefined)));

  /** A failure as it leaves the store: redacted, an outage a 503, a key of the wrong type named. */
  const storeFailure = (
    error: unknown,
    context: Omit<RedisStoreFailureContext, 'prefix' | 'readTypes'>,
  ): Promise<unknown> => toRedisStoreFailure(error, { ...context, prefix, readTypes });

  /**
   * Runs the apply step (the plain script, or the ingest function with the bus's publish in its
   * seam, which gets its own keys after the call's and its arguments after the step's) and reads
   * the reply.
   */
  const runApply = async (
    transition: CallTransition,
    step: { script: RedisScript } | { fn: RedisFunction },
    seam?: { keys: readonly string[]; args: readonly string[] },
  ): Promise<{ result: CallApplyResult; seam: unknown }> => {
    // An event is refused at once while the connection is down, as the Redis bus refuses a
    // publish: the provider's retry is answered once Redis is back, instead of the webhook
    // waiting in the offline queue past the provider's own timeout.
    const status = unreachable();
    if (status === 'end') throw redisClientClosedError();
    if (status !== undefined) {
      throw new RedisUnavailableError({
        message: `Redis cannot be reached (the connection is ${status}). The event was not applied; try again later.`,
      });
    }
    const base = baseOf(transition.tenantId);
    // Written before the script, without waiting: both go out in one round trip.
    const registration = registerTenant(transition.tenantId, transition.at);
    // With declareKeys (a Cluster client's default), every key the step touches is declared
    // (Redis Cluster checks only those while a slot moves): the call's, the seam's, the indexes
    // of the tenant and of the event's branch. When the call's stored branch is another, the step
    // writes nothing and names its keys: run again with them (a second round trip only then).
    // Without it, the call's and the seam's, and the step checks none.
    const indexKeys = indexKeysOf(base, transition.identity.branchId);
    const keys = [`${base}call:${transition.callId}`, ...(seam?.keys ?? [])];
    if (declareKeys) keys.push(...indexKeys);
    const args = encodeApplyTransitionArgs(
      base,
      transition,
      seam?.args,
      seam !== undefined,
      declareKeys,
    );
    let reply: ApplyTransitionReply | undefined;
    for (let round = 0; reply === undefined; round += 1) {
      let raw: unknown;
      try {
        raw =
          'fn' in step
            ? await runRedisFunction(redis, step.fn, keys, args)
            : await runRedisScript(redis, step.script, keys, args);
      } catch (error) {
        // The raw reply error carries the script's arguments (the event's JSON): never thrown as is.
        throw await storeFailure(error, {
          operation: `applying event ${transition.eventId}`,
          keys: indexKeys,
          writes: true,
        });
      }
      const decoded = decodeApplyTransitionReply(raw);
      if (decoded.outcome !== needsKeysOutcome) {
        reply = decoded;
      } else if (round + 1 >= maxKeyRounds) {
        // Another process moves the call between branches faster than this one can follow:
        // nothing was written, so the provider's retry is applied once.
        throw new RedisUnavailableError({
          message: `The call ${transition.callId} changed branch while event ${transition.eventId} was applied. The event was not applied; try again later.`,
        });
      } else {
        keys.push(...decoded.missingKeys.filter((key) => !keys.includes(key)));
      }
    }
    await registration;
    // The log is long enough: folded now, by a script of its own that declares the buckets. The
    // event is applied whatever becomes of it (a read, or the next step, folds what is left); a
    // failed fold goes back in the result, for the tracker to log.
    const failedFold = reply.foldDue ? await foldAfterStep(base, transition.at) : undefined;
    const { outcome, activeCount } = reply;
    const call = decodeCall(reply.snapshot);
    const result: CallApplyResult = { outcome, ...(call ? { call } : {}) };
    if (activeCount !== undefined) result.activeCount = activeCount;
    if (reply.activated) result.activated = true;
    if (failedFold !== undefined) result.analyticsFoldError = failedFold.error;
    return { result, seam: reply.seam };
  };

  /**
   * Folds the tenant's analytics log into its buckets. The buckets depend on what the log holds,
   * which only the script reads: it folds the lines whose buckets it was given (`bucketKeys`, a
   * guess) and names the keys of the rest, and is run again with them.
   */
  const foldAnalyticsLog = async (base: string, bucketKeys: readonly string[]): Promise<void> => {
    const keys = [`${base}${redisAnalyticsBucketLayout.logKey}`, ...bucketKeys];
    for (let round = 0; round < maxKeyRounds; round += 1) {
      const [, needed] = (await runRedisScript(redis, foldAnalyticsLogScript, keys, [base])) as [
        number,
        string[],
      ];
      if (needed.length === 0) return;
      keys.push(...needed.filter((key) => !keys.includes(key)));
    }
  };

  // The fold after a step of each tenant (by key base) while it runs. Every step in flight with
  // the one that filled the log answers foldDue until a fold has run: they start none of their
  // own, which would each read the whole log again (the running one folds their lines too, as it
  // runs after them). Only running folds are kept.
  // A failed fold is answered to the step that started it alone (so it is logged once).
  const foldsAfterSteps = new Map<string, Promise<{ error: unknown } | undefined>>();
  /**
   * Folds the log after a step at `at` found it long enough, unless a fold already runs; resolves
   * with the fold's failure, if it failed.
   */
  const foldAfterStep = (
    base: string,
    at: number,
  ): Promise<{ error: unknown } | undefined> | undefined => {
    if (foldsAfterSteps.has(base)) return undefined;
    const bucketKeys = redisAnalyticsFoldKeys(base, at);
    const fold = foldAnalyticsLog(base, bucketKeys)
      .then(
        () => undefined,
        async (error: unknown) => ({
          error: await storeFailure(error, {
            operation: 'folding the analytics log',
            keys: [`${base}${redisAnalyticsBucketLayout.logKey}`, ...bucketKeys],
            writes: true,
          }),
        }),
      )
      .finally(() => foldsAfterSteps.delete(base));
    foldsAfterSteps.set(base, fold);
    return fold;
  };

  const apply = async (transition: CallTransition): Promise<CallApplyResult> =>
    (await runApply(transition, { script: applyTransitionScript })).result;

  // One ingest function per set of bus settings (in practice one per process).
  const ingestFunctions = new Map<string, RedisFunction>();
  const ingest: RedisCallStoreIngest = {
    redis,
    probeKey: () => `${prefix}:probe:${randomUUID()}`,
    applyAndPublish: async (transition, publish) => {
      let fn = ingestFunctions.get(publish.functions);
      if (fn === undefined) {
        fn = defineRedisIngestFunction(publish.functions);
        ingestFunctions.set(publish.functions, fn);
      }
      let applied: { result: CallApplyResult; seam: unknown };
      try {
        applied = await runApply(
          transition,
          { fn },
          {
            keys: publish.busKeys,
            args: [publish.eventHead],
          },
        );
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith(busPublishFailedPrefix))) {
          throw error;
        }
        // The call was written and the event left unpublished (its lease ran out): answered as
        // the two-step path's bus answers a failed publish, a 503 whose retry publishes it.
        // ioredis attaches the script's arguments (the event's JSON) to its error: redacted.
        redactErrorValues(error);
        throw new BusUnavailableError({
          message: `The event ${transition.eventId} was applied but the Redis bus could not publish it: ${error.message.split('\n')[0]}. Publishing it again publishes it.`,
          cause: error,
        });
      }
      const { result, seam } = applied;
      if (seam === undefined) return result;
      const [epoch, seq, duplicate, register, callJson] = seam as [
        string,
        number,
        number,
        number,
        string,
      ];
      const published: RedisIngestPublished = {
        cursor: { epoch, seq },
        duplicate: duplicate === 1,
        register: register === 1,
      };
      // The snapshot as published (redis-call-snapshot-json: equal to the one decodeCall reads).
      return { ...result, call: JSON.parse(callJson) as CallSnapshot, published };
    },
  };

  const mark = async (script: RedisScript, key: CallEventKey): Promise<void> => {
    const base = baseOf(key.tenantId);
    await runRedisScript(
      redis,
      script,
      [`${base}call:${key.callId}`, `${base}outbox`],
      [key.eventId, key.callId],
    );
  };

  /** Reads calls (one pipeline); with `now`, leaves out the ones past their retention by then. */
  const readCalls = async (
    tenantId: string,
    callIds: string[],
    now?: number,
  ): Promise<CallSnapshot[]> => {
    if (callIds.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const callId of callIds) {
      pipeline.hmget(callKey(tenantId, callId), ...callReadFields);
    }
    const replies = (await pipeline.exec()) ?? [];
    const calls: CallSnapshot[] = [];
    for (const [error, fields] of replies) {
      if (error) throw error;
      const call = decodeKeptCall(fields as RedisValue[], now);
      if (call) calls.push(call);
    }
    return calls;
  };

  /**
   * The ids of a user's active calls in the index `key`, newest first, at most `query.limit`.
   * There is no index by user: the index is walked with `ZSCAN` (every call in it for the whole
   * walk is seen), a page at a time, reading each call's `agentId` and `userId` (one pipeline a
   * page). A call seen twice is read once.
   */
  const findActiveCallsOfUser = async (
    tenantId: string,
    key: string,
    query: ListActiveCallsQuery,
    userId: string,
  ): Promise<string[]> => {
    const seen = new Set<string>();
    const found: [callId: string, startedAt: number][] = [];
    const cursor = activeListCursorOf(query);
    let scanCursor = '0';
    do {
      const [next, flat] = await redis.zscan(key, scanCursor, 'COUNT', userScanPage);
      scanCursor = next;
      const page: [callId: string, startedAt: number][] = [];
      for (let index = 0; index + 1 < flat.length; index += 2) {
        const callId = flat[index]!;
        const startedAt = Number(flat[index + 1]);
        if (seen.has(callId)) continue;
        seen.add(callId);
        if (cursor !== undefined && !isListedAfter(startedAt, callId, cursor)) continue;
        page.push([callId, startedAt]);
      }
      if (page.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const [callId] of page) pipeline.hmget(callKey(tenantId, callId), 'agentId', 'userId');
      const replies = (await pipeline.exec()) ?? [];
      for (const [index, [error, ids]] of replies.entries()) {
        if (error) throw error;
        const [agentId, callUserId] = ids as RedisValue[];
        if (agentId === userId || callUserId === userId) found.push(page[index]!);
      }
    } while (scanCursor !== '0');
    // Newest first, ties by id from the highest, as ZREVRANGE orders them.
    found.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
    return found.slice(0, query.limit).map(([callId]) => callId);
  };

  const listActiveCalls = async (
    tenantId: string,
    query: ListActiveCallsQuery,
  ): Promise<CallSnapshot[]> => {
    const base = baseOf(tenantId);
    const key =
      query.branchId === undefined ? `${base}active` : `${base}active:branch:${query.branchId}`;
    if (query.userId !== undefined) {
      return readCalls(tenantId, await findActiveCallsOfUser(tenantId, key, query, query.userId));
    }
    const cursor = activeListCursorOf(query);
    const callIds =
      cursor === undefined
        ? await redis.zrevrange(key, 0, query.limit - 1)
        : cursor.callId === ''
          ? await redis.zrevrangebyscore(
              key,
              `(${cursor.startedAt}`,
              '-inf',
              'LIMIT',
              0,
              query.limit,
            )
          : ((await runRedisScript(
              redis,
              listActiveCallsAfterScript,
              [key],
              [cursor.startedAt, cursor.callId, query.limit],
            )) as string[]);
    return readCalls(tenantId, callIds);
  };

  const listEndedCalls = async (
    tenantId: string,
    query: ListEndedCallsQuery,
  ): Promise<CallSnapshot[]> => {
    const base = baseOf(tenantId);
    const key =
      query.branchId === undefined ? `${base}ended` : `${base}ended:branch:${query.branchId}`;
    return readCalls(tenantId, await redis.zrevrange(key, 0, query.limit - 1), query.now);
  };

  const countActiveCalls = async (tenantId: string): Promise<ActiveCallCount> => {
    const base = baseOf(tenantId);
    const replies =
      (await redis.multi().zcard(`${base}active`).hgetall(`${base}branches`).exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    const total = Number(replies[0]?.[1] ?? 0);
    // Made with fromEntries: an assignment would drop a branch named "__proto__".
    const byBranch: Record<string, number> = Object.fromEntries(
      Object.entries((replies[1]?.[1] ?? {}) as Record<string, string>)
        .map(([branch, count]) => [branch, Number(count)] as const)
        .filter(([, count]) => count > 0),
    );
    return { total, byBranch };
  };

  const findStaleCalls = async (
    tenantId: string,
    now: number,
    limit: number,
  ): Promise<CallSnapshot[]> => {
    const callIds = await redis.zrangebyscore(
      `${baseOf(tenantId)}stale`,
      '-inf',
      `(${now}`,
      'LIMIT',
      0,
      limit,
    );
    return readCalls(tenantId, callIds);
  };

  const claimUnpublishedEnds = async (
    tenantId: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<UnpublishedEnd[]> => {
    const base = baseOf(tenantId);
    // The outbox names the calls, which only the script reads: it claims those whose keys it was
    // given and names the others' keys, and is run again with them.
    const keys = [`${base}outbox`];
    const claimed: UnpublishedEnd[] = [];
    for (let round = 0; round < maxKeyRounds && claimed.length < limit; round += 1) {
      const [reply, needed] = (await runRedisScript(redis, claimUnpublishedEndsScript, keys, [
        base,
        now,
        leaseMs,
        limit - claimed.length,
      ])) as [(string | RedisValue[])[], string[]];
      for (let index = 0; index + 1 < reply.length; index += 2) {
        const call = decodeCall(reply[index + 1] as RedisValue[]);
        if (call) claimed.push({ event: JSON.parse(reply[index] as string) as CallEvent, call });
      }
      if (needed.length === 0) break;
      keys.push(...needed.filter((key) => !keys.includes(key)));
    }
    return claimed;
  };

  const readAnalytics = async (
    tenantId: string,
    granularity: AnalyticsGranularity,
    from: number,
    to: number,
  ): Promise<AnalyticsBucketData[]> => {
    const base = baseOf(tenantId);
    const size = analyticsBucketMs[granularity];
    const starts: number[] = [];
    for (let start = analyticsBucketStart(granularity, from); start < to; start += size) {
      if (start >= from) starts.push(start);
    }
    if (starts.length === 0) return [];
    // What the log holds is not in the buckets yet (decision 0070).
    await foldAnalyticsLog(base, []);
    const pipeline = redis.pipeline();
    for (const start of starts) {
      const key = redisAnalyticsBucketKey(base, granularity, start);
      pipeline.hgetall(key).scard(`${key}${redisAnalyticsBucketLayout.agentsSuffix}`);
    }
    const replies = (await pipeline.exec()) ?? [];
    const buckets: AnalyticsBucketData[] = [];
    starts.forEach((start, index) => {
      const [hashError, hash] = replies[index * 2] ?? [];
      const [setError, agents] = replies[index * 2 + 1] ?? [];
      if (hashError) throw hashError;
      if (setError) throw setError;
      const fields = (hash ?? {}) as Record<string, string>;
      if (Object.keys(fields).length === 0) return;
      buckets.push(decodeRedisAnalyticsBucket(start, fields, Number(agents ?? 0)));
    });
    return buckets;
  };

  const claimAlert = async (
    tenantId: string,
    key: string,
    ttlMs: number,
    _now: number,
  ): Promise<boolean> => {
    const reply = await redis.set(
      `${baseOf(tenantId)}alert:${key}`,
      '1',
      'PX',
      Math.max(1, Math.ceil(ttlMs)),
      'NX',
    );
    return reply === 'OK';
  };

  const releaseAlert = async (tenantId: string, key: string): Promise<void> => {
    await redis.del(`${baseOf(tenantId)}alert:${key}`);
  };

  const claimCallAlert = async (
    tenantId: string,
    callId: string,
    rule: string,
  ): Promise<boolean> => {
    const base = baseOf(tenantId);
    const reply = await runRedisScript(
      redis,
      claimCallAlertScript,
      [`${base}call:${callId}`, `${base}active`],
      [callId, `${redisCallHashPrefixes.alert}${rule}`],
    );
    return reply === 1;
  };

  const releaseCallAlert = async (tenantId: string, callId: string, rule: string) => {
    await redis.hdel(callKey(tenantId, callId), `${redisCallHashPrefixes.alert}${rule}`);
  };

  const store: CallStore = {
    apply,
    markPublished: (key) => mark(markPublishedScript, key),
    markPublishFailed: (key) => mark(markPublishFailedScript, key),
    getCall: async (tenantId, callId, now) => {
      const fields = await redis.hmget(callKey(tenantId, callId), ...callReadFields);
      return decodeKeptCall(fields, now);
    },
    listActiveCalls,
    countActiveCalls,
    listEndedCalls,
    listTenants: () => redis.smembers(tenantsKey),
    findStaleCalls,
    claimUnpublishedEnds,
    readAnalytics,
    claimAlert,
    releaseAlert,
    claimCallAlert,
    releaseCallAlert,
  };
  // Every other method's failure leaves the store as the apply step's does (redacted, an outage
  // a 503, a key of the wrong type named). A command on a client that has ended fails with
  // ioredis' `Connection is closed.`, which reads as an outage (503): said as the bug it is
  // instead. (`apply` checks the status first, and stays a plain call.)
  for (const name of Object.keys(store) as Array<keyof CallStore>) {
    if (name === 'apply') continue;
    const method = store[name] as (...args: unknown[]) => Promise<unknown>;
    const { operation, writes } = storeOperations[name];
    Object.assign(store, {
      [name]: (...args: unknown[]) =>
        method(...args).catch(async (error: unknown) => {
          if (redis.status === 'end' && !CallTrackError.isInstance(error)) {
            redactErrorValues(error);
            throw redisClientClosedError(error);
          }
          // A transaction's errors name no command: its keys are given here.
          const keys =
            name === 'countActiveCalls' && typeof args[0] === 'string'
              ? [`${baseOf(args[0])}active`, `${baseOf(args[0])}branches`]
              : [];
          throw await storeFailure(error, { operation, keys, writes });
        }),
    });
  }
  Object.defineProperty(store, redisCallStoreIngestKey, { value: ingest });
  return store;
}

/** What each store method does, for its failures' messages. */
const storeOperations: Record<
  Exclude<keyof CallStore, 'apply'>,
  { operation: string; writes: boolean }
> = {
  markPublished: { operation: 'confirming a publish', writes: true },
  markPublishFailed: { operation: 'recording a failed publish', writes: true },
  getCall: { operation: 'reading a call', writes: false },
  listActiveCalls: { operation: 'listing active calls', writes: false },
  countActiveCalls: { operation: 'counting active calls', writes: false },
  listEndedCalls: { operation: 'listing ended calls', writes: false },
  listTenants: { operation: 'listing tenants', writes: false },
  findStaleCalls: { operation: 'finding stale calls', writes: false },
  claimUnpublishedEnds: { operation: 'claiming unpublished ends', writes: true },
  readAnalytics: { operation: 'reading analytics', writes: true },
  claimAlert: { operation: 'claiming an alert', writes: true },
  releaseAlert: { operation: 'releasing an alert', writes: true },
  claimCallAlert: { operation: "claiming a call's alert", writes: true },
  releaseCallAlert: { operation: "releasing a call's alert", writes: true },
};

/** What a read asks for: the snapshot's fields, then `expiresAt`. */
const callReadFields: readonly string[] = [...redisCallSnapshotFields, 'expiresAt'];

/**
 * A call read with {@link callReadFields}, unless it is inactive and past its `expiresAt` by
 * `now` (Redis drops the key by its own clock; the tracker's may run ahead of it).
 */
function decodeKeptCall(
  fields: readonly RedisValue[] | undefined,
  now: number | undefined,
): CallSnapshot | undefined {
  const call = decodeCall(fields);
  const expiresAt = fields?.[redisCallSnapshotFields.length];
  if (call === undefined || now === undefined || call.active || expiresAt == null) return call;
  return Number(expiresAt) > now ? call : undefined;
}

/** Builds a snapshot from `HMGET` of {@link redisCallSnapshotFields}; undefined for no call. */
function decodeCall(fields: readonly RedisValue[] | undefined): CallSnapshot | undefined {
  if (!fields) return undefined;
  const createdAt = fields[fieldAt('createdAt')];
  if (createdAt == null) return undefined;
  const number = (index: number): number | undefined => {
    const text = fields[index];
    return text == null ? undefined : Number(text);
  };
  const details: CallDetails = {};
  for (const [index, name] of callDetailNames.entries()) {
    const text = fields[detailFieldAt[index]!];
    if (text != null) (details as Record<string, unknown>)[name] = JSON.parse(text);
  }
  const call: StoredCall = {
    tenantId: fields[fieldAt('tenantId')] ?? '',
    callId: fields[fieldAt('callId')] ?? '',
    provider: fields[fieldAt('provider')] ?? '',
    details,
    positions: {},
    createdAt: Number(createdAt),
    updatedAt: number(fieldAt('updatedAt')) ?? Number(createdAt),
    version: number(fieldAt('version')) ?? 0,
    events: new Map(),
  };
  for (const name of textFieldNames) {
    const text = fields[fieldAt(name)];
    if (text != null) (call as unknown as Record<string, string>)[name] = text;
  }
  for (const name of ['startedAt', 'answeredAt', 'endedAt'] as const) {
    const time = number(fieldAt(name));
    if (time !== undefined) call[name] = time;
  }
  return toCallSnapshot(call);
}

/** Where each snapshot field is in a call's `HMGET` of `redisCallSnapshotFields`. */
const snapshotFieldAt = Object.fromEntries(
  redisCallSnapshotFields.map((name, index) => [name, index]),
) as Readonly<Record<string, number>>;
const fieldAt = (name: string): number => snapshotFieldAt[name]!;
const detailFieldAt = callDetailNames.map((name) =>
  fieldAt(`${redisCallHashPrefixes.detail}${name}`),
);
const textFieldNames = ['status', ...callIdentityFills] as const;
