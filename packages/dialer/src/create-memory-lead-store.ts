import { randomUUID } from 'node:crypto';
import { applyAttemptUpdate } from './apply-attempt-update';
import type { Lead } from './lead';
import { claimedAttempt, claimedLead, type LeadAttempt } from './lead-attempt';
import type {
  AttemptUpdate,
  AttemptUpdateResult,
  ClaimResult,
  DetachedAttempt,
  LeadStore,
} from './lead-store';
import { parseLeadInputs } from './parse-lead-inputs';

const liveStates = new Set(['claimed', 'placed', 'unknown']);

// Each memory store's leads, for `removeMemoryLead`.
const leadsOfStore = new WeakMap<LeadStore, Map<string, Lead>>();
const leadKey = (tenantId: string, leadId: string): string => `${tenantId}\u0000${leadId}`;

/**
 * Deletes a lead of a memory store behind its back, as an app deletes a row of its own table:
 * for the conformance suite's `removeLead`, so the reference store runs the cases of deleted
 * leads too. Its attempts stay. Not exported from the package: an app has no table here.
 *
 * @internal
 */
export function removeMemoryLead(store: LeadStore, tenantId: string, leadId: string): void {
  leadsOfStore.get(store)?.delete(leadKey(tenantId, leadId));
}

/**
 * A lead store in this process's memory: for one process, for tests, and as the reference the
 * other stores are held to. Everything is lost when the process ends.
 */
export function createMemoryLeadStore(): LeadStore {
  const leads = new Map<string, Lead>();
  const attempts = new Map<string, LeadAttempt>();
  const attemptsByCall = new Map<string, string>();
  const attemptKey = leadKey;
  const callKey = (tenantId: string, provider: string, callId: string): string =>
    `${tenantId}\u0000${provider}\u0000${callId}`;
  const copy = <T>(value: T): T => structuredClone(value);

  const saveAttempt = (attempt: LeadAttempt): void => {
    attempts.set(attemptKey(attempt.tenantId, attempt.attemptId), attempt);
    if (attempt.provider !== undefined && attempt.callId !== undefined) {
      attemptsByCall.set(
        callKey(attempt.tenantId, attempt.provider, attempt.callId),
        attempt.attemptId,
      );
    }
  };

  const updateAttempt = (update: AttemptUpdate): AttemptUpdateResult => {
    const result = applyAttemptUpdate(
      leads.get(leadKey(update.tenantId, update.leadId)),
      attempts.get(attemptKey(update.tenantId, update.attemptId)),
      update,
    );
    if (result.applied) {
      leads.set(leadKey(update.tenantId, update.leadId), result.lead);
      saveAttempt(result.attempt);
    }
    return result;
  };

  const orphanDetachedAttempt = ({
    tenantId,
    leadId,
    attemptId,
    now,
    reason,
    call,
  }: DetachedAttempt): LeadAttempt | undefined => {
    const attempt = attempts.get(attemptKey(tenantId, attemptId));
    if (attempt === undefined || attempt.leadId !== leadId) return undefined;
    if (!liveStates.has(attempt.state)) return undefined;
    if (leads.get(leadKey(tenantId, leadId))?.attemptId === attemptId) return undefined;
    const orphaned: LeadAttempt = {
      ...attempt,
      state: 'orphaned',
      updatedAt: now,
      leaseUntil: undefined,
      callId: call?.callId ?? attempt.callId,
      outcome: call?.outcome ?? attempt.outcome,
      reason,
    };
    saveAttempt(orphaned);
    return orphaned;
  };

  const store: LeadStore = {
    async addLeads(inputs) {
      const parsed = parseLeadInputs(inputs);
      let added = 0;
      let existing = 0;
      const conflicts = new Map<string, { tenantId: string; leadId: string }>();
      for (const input of parsed) {
        const key = leadKey(input.tenantId, input.leadId);
        const owner = leads.get(key)?.userId;
        if (owner !== undefined) {
          if (owner === input.userId) existing += 1;
          else conflicts.set(key, { tenantId: input.tenantId, leadId: input.leadId });
          continue;
        }
        leads.set(key, {
          ...input,
          timeZone: input.timeZone,
          callStatus: 'pending',
          hasBeenCalled: false,
          attemptCount: 0,
          lastAttemptAt: undefined,
          attemptId: undefined,
          fence: 0,
          provider: undefined,
          callId: undefined,
          callOutcome: undefined,
          skipReason: undefined,
          skippedAt: undefined,
        });
        added += 1;
      }
      return { added, existing, conflicts: [...conflicts.values()] };
    },

    async getLead(tenantId, leadId) {
      const lead = leads.get(leadKey(tenantId, leadId));
      return lead && copy(lead);
    },

    async listPendingLeads({ tenantId, userId, afterLeadId, limit }) {
      const found: Lead[] = [];
      for (const lead of leads.values()) {
        if (lead.tenantId !== tenantId || lead.userId !== userId) continue;
        if (lead.callStatus !== 'pending' || lead.hasBeenCalled) continue;
        if (afterLeadId !== undefined && !(lead.leadId > afterLeadId)) continue;
        found.push(lead);
      }
      found.sort((a, b) => (a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0));
      return found.slice(0, limit).map(copy);
    },

    async listLeads({ tenantId, userId, afterLeadId, limit }) {
      const found: Lead[] = [];
      for (const lead of leads.values()) {
        if (lead.tenantId !== tenantId || lead.userId !== userId) continue;
        if (afterLeadId !== undefined && !(lead.leadId > afterLeadId)) continue;
        found.push(lead);
      }
      found.sort((a, b) => (a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0));
      return found.slice(0, limit).map(copy);
    },

    async claimLeads(request) {
      const results: ClaimResult[] = [];
      const checked = new Map(request.checked?.map((lead) => [lead.leadId, lead]));
      for (const leadId of new Set(request.leadIds)) {
        const asChecked = checked.get(leadId);
        const lead = leads.get(leadKey(request.tenantId, leadId));
        if (lead === undefined) {
          results.push({ leadId, claimed: false, reason: 'not_found' });
        } else if (lead.callStatus !== 'pending' || lead.hasBeenCalled) {
          results.push({ leadId, claimed: false, reason: 'not_pending' });
        } else if (request.maxAttempts !== undefined && lead.attemptCount >= request.maxAttempts) {
          results.push({ leadId, claimed: false, reason: 'attempt_cap' });
        } else if (
          request.minAttemptGapMs !== undefined &&
          lead.lastAttemptAt !== undefined &&
          request.now - lead.lastAttemptAt < request.minAttemptGapMs
        ) {
          results.push({ leadId, claimed: false, reason: 'too_soon' });
        } else if (
          asChecked !== undefined &&
          (asChecked.userId !== lead.userId ||
            asChecked.phoneNumber !== lead.phoneNumber ||
            asChecked.timeZone !== lead.timeZone)
        ) {
          results.push({ leadId, claimed: false, reason: 'changed' });
        } else {
          const attemptId = randomUUID();
          const fence = lead.fence + 1;
          const claimed = claimedLead(request, lead, {
            attemptId,
            fence,
            attemptCount: lead.attemptCount + 1,
          });
          const attempt = claimedAttempt(request, {
            leadId,
            userId: lead.userId,
            attemptId,
            fence,
          });
          leads.set(leadKey(request.tenantId, leadId), claimed);
          saveAttempt(attempt);
          results.push({ leadId, claimed: true, lead: copy(claimed), attempt: copy(attempt) });
        }
      }
      return results;
    },

    async updateAttempt(update) {
      return copy(updateAttempt(update));
    },

    async recordSkips(skips) {
      for (const { tenantId, leadId, reason, now } of skips) {
        const key = leadKey(tenantId, leadId);
        const lead = leads.get(key);
        if (lead === undefined || lead.callStatus !== 'pending' || lead.hasBeenCalled) continue;
        leads.set(key, { ...lead, skipReason: reason, skippedAt: now });
      }
    },

    async getAttempt(tenantId, attemptId) {
      const attempt = attempts.get(attemptKey(tenantId, attemptId));
      return attempt && copy(attempt);
    },

    async findAttemptByCall(tenantId, provider, callId) {
      const attemptId = attemptsByCall.get(callKey(tenantId, provider, callId));
      const attempt = attemptId && attempts.get(attemptKey(tenantId, attemptId));
      return attempt ? copy(attempt) : undefined;
    },

    async listExpiredAttempts({ now, limit }) {
      return [...attempts.values()]
        .filter(
          (attempt) =>
            (attempt.state === 'claimed' || attempt.state === 'unknown') &&
            attempt.leaseUntil !== undefined &&
            attempt.leaseUntil <= now,
        )
        .sort((a, b) => (a.leaseUntil ?? 0) - (b.leaseUntil ?? 0))
        .slice(0, limit)
        .map(copy);
    },

    async orphanDetachedAttempt(detached) {
      const orphaned = orphanDetachedAttempt(detached);
      return orphaned && copy(orphaned);
    },

    // One attempt after the other with nothing awaited between them: no other call sees half.
    async orphanExpiredAttempts({ now, attempts: expired }) {
      return expired.map(({ tenantId, leadId, attemptId, fence, reason }) => {
        const result = updateAttempt({
          tenantId,
          leadId,
          attemptId,
          fence,
          state: 'orphaned',
          now,
          takeOver: true,
          reason,
        });
        if (result.applied) return 'orphaned';
        if (result.lead?.attemptId === attemptId) return 'unchanged';
        const cutOff = result.lead === undefined ? 'lead_gone' : 'lead_moved_on';
        const orphaned = orphanDetachedAttempt({
          tenantId,
          leadId,
          attemptId,
          now,
          reason: cutOff,
        });
        return orphaned === undefined ? 'unchanged' : cutOff;
      });
    },

    async listPlacedAttempts({ updatedBefore, claimedAfter, limit }) {
      return [...attempts.values()]
        .filter(
          (attempt) =>
            attempt.state === 'placed' &&
            attempt.updatedAt <= updatedBefore &&
            attempt.claimedAt > claimedAfter,
        )
        .sort((a, b) => a.updatedAt - b.updatedAt)
        .slice(0, limit)
        .map(copy);
    },

    async listAttempts({ tenantId, state, userId, limit }) {
      return [...attempts.values()]
        .filter(
          (attempt) =>
            attempt.tenantId === tenantId &&
            (state === undefined || attempt.state === state) &&
            (userId === undefined || attempt.userId === userId),
        )
        .sort((a, b) => b.claimedAt - a.claimedAt)
        .slice(0, limit)
        .map(copy);
    },

    async countLiveAttempts({ tenantId, userId, since }) {
      let count = 0;
      for (const attempt of attempts.values()) {
        if (
          attempt.tenantId === tenantId &&
          attempt.userId === userId &&
          liveStates.has(attempt.state) &&
          attempt.claimedAt >= since
        ) {
          count += 1;
        }
      }
      return count;
    },
  };
  leadsOfStore.set(store, leads);
  return store;
}
