import { randomUUID } from 'node:crypto';
import { type CallStatus, InvalidArgumentError, tenantIdSchema } from '@calltrack/core';
import {
  catchRedisStoreErrors,
  checkNoKeyPrefix,
  type RedisStoreOperations,
} from '@calltrack/core/internal';
import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import type { Lead, LeadCallStatus, LeadInput } from './lead';
import { type AttemptState, claimedAttempt, claimedLead, type LeadAttempt } from './lead-attempt';

const attemptStates: readonly AttemptState[] = [
  'claimed',
  'placed',
  'unknown',
  'released',
  'ended',
  'orphaned',
];

import type {
  AttemptUpdateRefusal,
  AttemptUpdateResult,
  ClaimRefusal,
  ClaimResult,
  ExpiredAttemptOutcome,
  LeadStore,
} from './lead-store';
import { parseLeadInputs } from './parse-lead-inputs';
import {
  addLeadsScript,
  claimLeadsScript,
  orphanDetachedAttemptScript,
  orphanExpiredAttemptsScript,
  pruneLeadIndexScript,
  recordSkipsScript,
  updateAttemptScript,
} from './redis-lead-store-scripts';

/** Options of {@link createRedisLeadStore}. */
export interface RedisLeadStoreOptions {
  /**
   * Your ioredis client (a `Redis` or a `Cluster`). The store only sends commands on it: it
   * never connects, subscribes, registers commands or closes it.
   *
   * Redis is the system of record here, so "called once, ever" holds only as long as Redis keeps
   * what it acknowledged: run it with `appendonly yes` and `appendfsync always` (or accept that a
   * crash may forget up to a second of claims), and never on a failover that loses writes.
   * PostgreSQL (`@calltrack/dialer/postgres`) has no such caveat.
   */
  redis: Redis | Cluster;
  /** Prefix of every key. Default `calltrack:dialer`. Keys of one tenant share `{tenantId}`. */
  prefix?: string;
}

const addScript = defineRedisScript(addLeadsScript);
const claimScript = defineRedisScript(claimLeadsScript);
const updateScript = defineRedisScript(updateAttemptScript);
const skipsScript = defineRedisScript(recordSkipsScript);
const orphanDetachedScript = defineRedisScript(orphanDetachedAttemptScript);
const orphanExpiredScript = defineRedisScript(orphanExpiredAttemptsScript);
const pruneScript = defineRedisScript(pruneLeadIndexScript);
const addBatch = 500;
const skipBatch = 500;
const pruneBatch = 500;

/**
 * A lead store on Redis: each claim, each fenced write and each batch of skips is one Lua script on the
 * tenant's keys, so it is atomic across every process that shares the Redis. Leads of a tenant
 * live under `<prefix>:{<tenant>}:` (see `redis-lead-store-scripts.ts` for the layout), plus
 * `<prefix>:tenants`, the set of tenants the reconciler looks through.
 */
export function createRedisLeadStore(options: RedisLeadStoreOptions): LeadStore {
  if (options == null || typeof options !== 'object' || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisLeadStore needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisLeadStore', redis);
  const prefix = options.prefix ?? 'calltrack:dialer';
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidArgumentError({
      message: 'createRedisLeadStore: prefix must be a non-empty string without "{" or "}".',
    });
  }
  const tenantsKey = `${prefix}:tenants`;
  const baseOf = (tenantId: string): string => {
    if (!tenantIdSchema.safeParse(tenantId).success) {
      throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
    }
    return `${prefix}:{${tenantId}}:`;
  };

  /**
   * A page of the user's leads a per-user index (sorted by lead id) lists after `afterLeadId`,
   * that `keep` takes. An index can name leads that are no longer the user's (deleted behind the
   * store's back, or deleted and loaded again for another user): those are passed over and the
   * index read on, so a page is short only at its end (the dialer and the leads page stop there)
   * and never holds another user's lead. What was passed over is then removed from the index
   * (each checked again in the removing script), so the index does not grow with every lead
   * deleted, nor slow every read that passes them.
   */
  const readLeadPage = async (
    base: string,
    userId: string,
    pendingOnly: boolean,
    afterLeadId: string | undefined,
    limit: number,
  ): Promise<Lead[]> => {
    const index = `${base}${pendingOnly ? 'pending' : 'leads'}:${userId}`;
    const keep = (lead: Lead): boolean =>
      lead.userId === userId &&
      (!pendingOnly || (lead.callStatus === 'pending' && !lead.hasBeenCalled));
    const leads: Lead[] = [];
    const passedOver: string[] = [];
    let after = afterLeadId;
    while (leads.length < limit) {
      const wanted = limit - leads.length;
      const leadIds = await redis.zrangebylex(
        index,
        after === undefined ? '-' : `(${after}`,
        '+',
        'LIMIT',
        0,
        wanted,
      );
      if (leadIds.length === 0) break;
      const pipeline = redis.pipeline();
      for (const leadId of leadIds) pipeline.hgetall(`${base}lead:${leadId}`);
      for (const [position, [error, record]] of ((await pipeline.exec()) ?? []).entries()) {
        if (error) throw error;
        const lead = decodeLead(record as Record<string, string>);
        if (lead !== undefined && keep(lead)) leads.push(lead);
        else passedOver.push(leadIds[position]!);
      }
      if (leadIds.length < wanted) break;
      after = leadIds.at(-1);
    }
    if (passedOver.length > 0) {
      // Only tidying: the page is right without it, and the next read tries again. Not failed
      // for it (a replica or a full Redis may refuse the write while it answers reads).
      for (let start = 0; start < passedOver.length; start += pruneBatch) {
        await runRedisScript(
          redis,
          pruneScript,
          [index],
          [base, userId, pendingOnly ? '1' : '', ...passedOver.slice(start, start + pruneBatch)],
        ).catch(() => {});
      }
    }
    return leads;
  };

  const readAttempts = async (tenantId: string, attemptIds: string[]): Promise<LeadAttempt[]> => {
    if (attemptIds.length === 0) return [];
    const base = baseOf(tenantId);
    const pipeline = redis.pipeline();
    for (const attemptId of attemptIds) pipeline.hgetall(`${base}attempt:${attemptId}`);
    const replies = (await pipeline.exec()) ?? [];
    const found: LeadAttempt[] = [];
    for (const [error, record] of replies) {
      if (error) throw error;
      const attempt = decodeAttempt(record as Record<string, string>);
      if (attempt) found.push(attempt);
    }
    return found;
  };

  const store: LeadStore = {
    async addLeads(inputs) {
      const parsed = parseLeadInputs(inputs);
      // Each lead with its place in the input, so the conflicts come out in the order given.
      const byTenant = new Map<string, [LeadInput, number][]>();
      for (const [index, input] of parsed.entries()) {
        const leads = byTenant.get(input.tenantId);
        if (leads) leads.push([input, index]);
        else byTenant.set(input.tenantId, [[input, index]]);
      }
      let added = 0;
      let existing = 0;
      const conflicting: number[] = [];
      for (const [tenantId, leads] of byTenant) {
        const base = baseOf(tenantId);
        await redis.sadd(tenantsKey, tenantId);
        for (let start = 0; start < leads.length; start += addBatch) {
          const batch = leads.slice(start, start + addBatch);
          const args: string[] = [base, tenantId];
          for (const [lead] of batch) {
            args.push(lead.leadId, lead.userId, lead.phoneNumber, lead.timeZone ?? '');
          }
          const [batchAdded, batchExisting, ...positions] = (await runRedisScript(
            redis,
            addScript,
            [`${base}lead:`],
            args,
          )) as number[];
          added += Number(batchAdded);
          existing += Number(batchExisting);
          for (const position of positions) conflicting.push(batch[Number(position)]![1]);
        }
      }
      const conflicts = new Map<string, { tenantId: string; leadId: string }>();
      for (const index of conflicting.sort((a, b) => a - b)) {
        const { tenantId, leadId } = parsed[index]!;
        conflicts.set(`${tenantId}\u0000${leadId}`, { tenantId, leadId });
      }
      return { added, existing, conflicts: [...conflicts.values()] };
    },

    async getLead(tenantId, leadId) {
      return decodeLead(await redis.hgetall(`${baseOf(tenantId)}lead:${leadId}`));
    },

    async listPendingLeads({ tenantId, userId, afterLeadId, limit }) {
      return readLeadPage(baseOf(tenantId), userId, true, afterLeadId, limit);
    },

    async listLeads({ tenantId, userId, afterLeadId, limit }) {
      return readLeadPage(baseOf(tenantId), userId, false, afterLeadId, limit);
    },

    async claimLeads(request) {
      const base = baseOf(request.tenantId);
      const leadIds =
        request.leadIds.length === 1 ? request.leadIds : [...new Set(request.leadIds)];
      if (leadIds.length === 0) return [];
      const args: (string | number)[] = [
        base,
        request.tenantId,
        request.now,
        request.now + request.leaseMs,
        request.claimedBy,
        request.maxAttempts ?? '',
        request.minAttemptGapMs ?? '',
      ];
      const attemptIds: string[] = [];
      const checked =
        request.checked && new Map(request.checked.map((lead) => [lead.leadId, lead]));
      for (const leadId of leadIds) {
        const attemptId = randomUUID();
        attemptIds.push(attemptId);
        const asChecked = checked?.get(leadId);
        if (asChecked === undefined) args.push(leadId, attemptId, '', '', '', '');
        else {
          args.push(
            leadId,
            attemptId,
            '1',
            asChecked.userId,
            asChecked.phoneNumber,
            asChecked.timeZone ?? '',
          );
        }
      }
      const reply = (await runRedisScript(redis, claimScript, [`${base}lead:`], args)) as string[];
      // One answer per lead, in the order sent: a reason, or 'claimed' and five values.
      const results: ClaimResult[] = [];
      let at = 0;
      for (const [position, leadId] of leadIds.entries()) {
        const outcome = reply[at]!;
        if (outcome !== 'claimed') {
          results.push({ leadId, claimed: false, reason: outcome as ClaimRefusal });
          at += 1;
          continue;
        }
        const attemptId = attemptIds[position]!;
        const fence = Number(reply[at + 1]);
        const userId = reply[at + 3]!;
        const lead = claimedLead(
          request,
          {
            tenantId: request.tenantId,
            leadId,
            userId,
            phoneNumber: reply[at + 4]!,
            timeZone: reply[at + 5] || undefined,
          },
          { attemptId, fence, attemptCount: Number(reply[at + 2]) },
        );
        const attempt = claimedAttempt(request, { leadId, userId, attemptId, fence });
        results.push({ leadId, claimed: true, lead, attempt });
        at += 6;
      }
      return results;
    },

    async updateAttempt(update) {
      const base = baseOf(update.tenantId);
      const [outcome, leadFields, attemptFields] = (await runRedisScript(
        redis,
        updateScript,
        [`${base}lead:${update.leadId}`],
        [
          base,
          update.leadId,
          update.attemptId,
          String(update.fence),
          update.state,
          update.now,
          update.leaseMs ?? 0,
          update.provider ?? '',
          update.callId ?? '',
          update.outcome ?? '',
          update.reason ?? '',
          update.takeOver === true ? '1' : '',
        ],
      )) as [string, string[], string[]];
      const lead = decodeLead(pairs(leadFields));
      const attempt = decodeAttempt(pairs(attemptFields));
      if (outcome === 'applied') return { applied: true, lead: lead!, attempt: attempt! };
      const refused: AttemptUpdateResult = {
        applied: false,
        reason: outcome as AttemptUpdateRefusal,
      };
      if (lead) refused.lead = lead;
      if (attempt) refused.attempt = attempt;
      return refused;
    },

    // One script per tenant (its keys share a hash slot), up to 500 skips each, sent at once.
    async recordSkips(skips) {
      const byTenant = new Map<string, (string | number)[]>();
      for (const { tenantId, leadId, reason, now } of skips) {
        const args = byTenant.get(tenantId);
        if (args) args.push(leadId, reason, now);
        else byTenant.set(tenantId, [leadId, reason, now]);
      }
      const scripts: Promise<unknown>[] = [];
      for (const [tenantId, args] of byTenant) {
        const base = baseOf(tenantId);
        for (let start = 0; start < args.length; start += 3 * skipBatch) {
          const batch = args.slice(start, start + 3 * skipBatch);
          scripts.push(
            runRedisScript(redis, skipsScript, [`${base}lead:${batch[0]}`], [base, ...batch]),
          );
        }
      }
      await Promise.all(scripts);
    },

    async getAttempt(tenantId, attemptId) {
      return decodeAttempt(await redis.hgetall(`${baseOf(tenantId)}attempt:${attemptId}`));
    },

    async findAttemptByCall(tenantId, provider, callId) {
      const attemptId = await redis.get(`${baseOf(tenantId)}call:${provider}:${callId}`);
      if (attemptId === null) return undefined;
      return (await readAttempts(tenantId, [attemptId]))[0];
    },

    async listExpiredAttempts({ now, limit }) {
      const tenants = await redis.smembers(tenantsKey);
      const due: { tenantId: string; attemptId: string; leaseUntil: number }[] = [];
      for (const tenantId of tenants) {
        const reply = await redis.zrangebyscore(
          `${baseOf(tenantId)}leases`,
          '-inf',
          now,
          'WITHSCORES',
          'LIMIT',
          0,
          limit,
        );
        for (let index = 0; index < reply.length; index += 2) {
          due.push({ tenantId, attemptId: reply[index]!, leaseUntil: Number(reply[index + 1]) });
        }
      }
      due.sort((a, b) => a.leaseUntil - b.leaseUntil);
      const oldest = due.slice(0, limit);
      // Every attempt read in one pipeline (a round trip each cost 500 of them on every pass).
      const pipeline = redis.pipeline();
      for (const entry of oldest)
        pipeline.hgetall(`${baseOf(entry.tenantId)}attempt:${entry.attemptId}`);
      const replies = oldest.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      const found: LeadAttempt[] = [];
      for (const [index, entry] of oldest.entries()) {
        const [error, record] = replies[index] ?? [new Error('No reply for an attempt.')];
        if (error) throw error;
        const attempt = decodeAttempt(record as Record<string, string>);
        if (attempt?.state === 'claimed' || attempt?.state === 'unknown') {
          found.push(attempt);
        } else {
          // An entry whose attempt was deleted (or has moved on, which the scripts never leave
          // in the set) would come back first in every read: the set is repaired instead.
          await redis.zrem(`${baseOf(entry.tenantId)}leases`, entry.attemptId);
        }
      }
      return found;
    },

    async listPlacedAttempts({ updatedBefore, claimedAfter, limit }) {
      // `state:placed` is by claim time: the tenant's placed attempts of the horizon, few (an
      // ended call leaves the set), filtered and ordered by their last change here.
      const found: LeadAttempt[] = [];
      for (const tenantId of await redis.smembers(tenantsKey)) {
        const attemptIds = await redis.zrangebyscore(
          `${baseOf(tenantId)}state:placed`,
          `(${claimedAfter}`,
          '+inf',
        );
        for (const attempt of await readAttempts(tenantId, attemptIds)) {
          if (attempt.state === 'placed' && attempt.updatedAt <= updatedBefore) found.push(attempt);
        }
      }
      return found.sort((a, b) => a.updatedAt - b.updatedAt).slice(0, limit);
    },

    async orphanDetachedAttempt({ tenantId, leadId, attemptId, now, reason, call }) {
      const base = baseOf(tenantId);
      const fields = (await runRedisScript(
        redis,
        orphanDetachedScript,
        [`${base}attempt:${attemptId}`],
        [base, attemptId, leadId, now, reason, call?.callId ?? '', call?.outcome ?? ''],
      )) as string[];
      return decodeAttempt(pairs(fields));
    },

    // One script per tenant (its keys share a hash slot), the tenants' sent at once.
    async orphanExpiredAttempts({ now, attempts }) {
      const outcomes: ExpiredAttemptOutcome[] = attempts.map(() => 'unchanged');
      const byTenant = new Map<string, number[]>();
      for (const [index, attempt] of attempts.entries()) {
        // A tenant no key can name has no attempt here.
        if (!tenantIdSchema.safeParse(attempt.tenantId).success) continue;
        const indexes = byTenant.get(attempt.tenantId);
        if (indexes) indexes.push(index);
        else byTenant.set(attempt.tenantId, [index]);
      }
      await Promise.all(
        [...byTenant].map(async ([tenantId, indexes]) => {
          const base = baseOf(tenantId);
          const args: (string | number)[] = [base, now];
          for (const index of indexes) {
            const { leadId, attemptId, fence, reason } = attempts[index]!;
            args.push(leadId, attemptId, String(fence), reason);
          }
          const reply = (await runRedisScript(
            redis,
            orphanExpiredScript,
            [`${base}lead:`],
            args,
          )) as ExpiredAttemptOutcome[];
          for (const [position, index] of indexes.entries()) outcomes[index] = reply[position]!;
        }),
      );
      return outcomes;
    },

    async listAttempts({ tenantId, state, userId, limit }) {
      const base = baseOf(tenantId);
      const mine = (attempt: LeadAttempt): boolean =>
        userId === undefined || attempt.userId === userId;
      const wanted = state === undefined ? attemptStates : [state];
      const found: LeadAttempt[] = [];
      // Claimed attempts are only in the lease set (with unknown ones): few, read them all.
      if (wanted.includes('claimed')) {
        const attemptIds = await redis.zrange(`${base}leases`, 0, -1);
        for (const attempt of await readAttempts(tenantId, attemptIds)) {
          if (attempt.state === 'claimed' && mine(attempt)) found.push(attempt);
        }
      }
      // Every other state's set is by claim time: its newest `limit` (of the user's) are enough.
      const chunk = Math.max(limit, 100);
      for (const current of wanted) {
        if (current === 'claimed') continue;
        let kept = 0;
        for (let start = 0; kept < limit; start += chunk) {
          const attemptIds: string[] = await redis.zrevrange(
            `${base}state:${current}`,
            start,
            start + chunk - 1,
          );
          if (attemptIds.length === 0) break;
          const attempts: LeadAttempt[] = await readAttempts(tenantId, attemptIds);
          for (const attempt of attempts) {
            if (attempt.state === current && mine(attempt)) {
              found.push(attempt);
              kept += 1;
            }
          }
        }
      }
      return found.sort((a, b) => b.claimedAt - a.claimedAt).slice(0, limit);
    },

    async countLiveAttempts({ tenantId, userId, since }) {
      return await redis.zcount(`${baseOf(tenantId)}live:${userId}`, since, '+inf');
    },
  };
  // Redis refusing commands (out of memory, a replica after a failover…) is an outage:
  // `RedisUnavailableError`, 503 with Retry-After at the dialer's API; a run stops on it and
  // the next trigger starts again (nothing was claimed). Nothing the store rejects with carries
  // the values it wrote (phone numbers, names, the app's fields).
  return catchRedisStoreErrors(redis, store, leadStoreOperations);
}

/** What each method of the store does, for its failures' messages. */
const leadStoreOperations: RedisStoreOperations<LeadStore> = {
  addLeads: { operation: 'adding leads', writes: true },
  getLead: { operation: 'reading a lead', writes: false },
  listPendingLeads: { operation: 'listing pending leads', writes: false },
  listLeads: { operation: 'listing leads', writes: false },
  claimLeads: { operation: 'claiming leads', writes: true },
  updateAttempt: { operation: 'updating an attempt', writes: true },
  recordSkips: { operation: 'recording skipped leads', writes: true },
  getAttempt: { operation: 'reading an attempt', writes: false },
  findAttemptByCall: { operation: 'finding an attempt by its call', writes: false },
  listExpiredAttempts: { operation: 'listing expired attempts', writes: false },
  orphanDetachedAttempt: { operation: 'orphaning an attempt', writes: true },
  orphanExpiredAttempts: { operation: 'orphaning expired attempts', writes: true },
  listPlacedAttempts: { operation: 'listing placed attempts', writes: false },
  listAttempts: { operation: 'listing attempts', writes: false },
  countLiveAttempts: { operation: 'counting live attempts', writes: false },
};

function pairs(flat: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) record[flat[index]!] = flat[index + 1]!;
  return record;
}

const optionalNumber = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : Number(value);

function decodeLead(record: Record<string, string>): Lead | undefined {
  if (record.leadId === undefined) return undefined;
  return {
    tenantId: record.tenantId!,
    leadId: record.leadId,
    // A malformed lead without an owner reads as owned by nobody ('' on every store).
    userId: record.userId ?? '',
    phoneNumber: record.phoneNumber ?? '',
    timeZone: record.timeZone,
    callStatus: record.callStatus as LeadCallStatus,
    hasBeenCalled: record.hasBeenCalled === '1',
    attemptCount: Number(record.attemptCount ?? 0),
    lastAttemptAt: optionalNumber(record.lastAttemptAt),
    attemptId: record.attemptId,
    fence: Number(record.fence ?? 0),
    provider: record.provider,
    callId: record.callId,
    callOutcome: record.callOutcome as CallStatus | undefined,
    skipReason: record.skipReason,
    skippedAt: optionalNumber(record.skippedAt),
  };
}

function decodeAttempt(record: Record<string, string>): LeadAttempt | undefined {
  if (record.attemptId === undefined) return undefined;
  return {
    tenantId: record.tenantId!,
    leadId: record.leadId!,
    userId: record.userId!,
    attemptId: record.attemptId,
    fence: Number(record.fence),
    state: record.state as AttemptState,
    claimedAt: Number(record.claimedAt),
    leaseUntil: optionalNumber(record.leaseUntil),
    updatedAt: Number(record.updatedAt),
    provider: record.provider,
    callId: record.callId,
    outcome: record.outcome as CallStatus | undefined,
    reason: record.reason,
    claimedBy: record.claimedBy,
  };
}
