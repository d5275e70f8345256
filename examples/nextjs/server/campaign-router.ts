import { type Clock, maskPhoneNumber } from '@calltrack/core';
import type { CallTracker } from '@calltrack/tracker';
import { TRPCError } from '@trpc/server';
import { type CallSummary, toCallSummary } from './call-summary';
import { demoLeads } from './demo-leads';
import { t } from './trpc';

/** A lead as the page lists it: who, the masked number, and how the last call to them went. */
export interface LeadRow {
  id: string;
  name: string;
  company: string;
  /** Masked, for the screen. */
  contact: string;
  /** E.164, sent back with "Call Now" (the agent dials it; the page never shows it). */
  phone: string;
  provider: 'twilio' | 'retell';
  line: string;
  /** The most recent call to the lead in the last 24 h (active or ended), if any. */
  lastCall: CallSummary | null;
}

/** The campaign page's figures: active calls now, and calls of the last 24 hours. */
export interface CampaignStats {
  activeCalls: number;
  startedCalls: number;
  endedCalls: number;
  answeredCalls: number;
  /**
   * Completed calls, without those counted in `voicemailCalls` when `voicemailCountedFrom` is
   * null; with every machine-answered call when it is not.
   */
  completedCalls: number;
  /**
   * Answered by a machine (AMD, or Retell reaching voicemail): ended, but nobody talked. The
   * tracker's analytics do not tell who answered, so they are counted among the calls it lists
   * (the newest 1,000 ended).
   */
  voicemailCalls: number;
  /**
   * Null when `voicemailCalls` covers the whole 24 hours. Otherwise more calls ended than the
   * tracker lists (1,000): the end (ISO 8601) of the oldest listed call, the time from which
   * `voicemailCalls` counts, and `completedCalls` keeps the machine-answered calls in.
   */
  voicemailCountedFrom: string | null;
  busyCalls: number;
  noAnswerCalls: number;
  /** Ended by the caller or the agent before anyone answered. */
  canceledCalls: number;
  /** Failed calls only: not busy, not unanswered. */
  failedCalls: number;
  averageDurationMs: number | null;
  /** When the figures were read (ISO 8601). */
  at: string;
}

const dayMs = 24 * 60 * 60 * 1000;
const minuteMs = 60 * 1000;
/** The most ended calls `listRecentCalls` returns. */
const recentCallsLimit = 1_000;

function parseCallId(input: unknown): { callId: string } {
  const callId = (input as { callId?: unknown } | undefined)?.callId;
  if (typeof callId !== 'string' || callId === '' || callId.length > 256) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'callId must be a non-empty string.' });
  }
  return { callId };
}

function parseLimit(input: unknown): { limit: number } {
  const limit = (input as { limit?: unknown } | undefined)?.limit ?? 10;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 50) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'limit must be an integer from 1 to 50.' });
  }
  return { limit };
}

/** What the campaign procedures read: the tracker, and the time (`Date.now` unless a test sets it). */
export interface CampaignRouterOptions {
  tracker: CallTracker;
  clock?: Clock;
}

/** The campaign procedures: stats, the recently ended calls and one call, from the tracker. */
export function createCampaignRouter({ tracker, clock = Date }: CampaignRouterOptions) {
  const tenantProcedure = t.procedure.use(({ ctx, next }) => {
    if (!ctx.tenantId) throw new TRPCError({ code: 'UNAUTHORIZED' });
    return next({ ctx: { tenantId: ctx.tenantId } });
  });

  return t.router({
    stats: tenantProcedure.query(async ({ ctx }): Promise<CampaignStats> => {
      const now = clock.now();
      // Minute buckets from just inside the last 24 hours (the range starts on a minute): the
      // tracker keeps an ended call 24 hours after its last change, so it still lists every call
      // that ended in the range, up to its 1,000.
      const [count, analytics, recent] = await Promise.all([
        tracker.countActiveCalls(ctx.tenantId),
        tracker.getAnalytics(ctx.tenantId, {
          from: now - dayMs + minuteMs,
          to: now,
          granularity: 'minute',
        }),
        tracker.listRecentCalls(ctx.tenantId, { limit: recentCallsLimit }),
      ]);
      const { totals } = analytics;
      const rangeStart = Date.parse(analytics.from);
      const endedInRange = (call: (typeof recent)[number]) =>
        call.endedAt !== undefined && Date.parse(call.endedAt) >= rangeStart;
      // The list is the newest ends first: it holds every end of the range when it is not full,
      // when its oldest call ended before the range, or when it lists as many as ended in it.
      const oldest = recent.at(-1);
      const listed = recent.filter(endedInRange);
      const listsWholeRange =
        recent.length < recentCallsLimit ||
        oldest === undefined ||
        !endedInRange(oldest) ||
        listed.length >= totals.endedCalls;
      // The tracker counts a machine-answered call as completed; the page counts it apart.
      const voicemailCalls = listed.filter(
        (call) => call.status === 'completed' && toCallSummary(call).outcome === 'voicemail',
      ).length;
      const completed = totals.endedByStatus.completed ?? 0;
      return {
        activeCalls: count.total,
        startedCalls: totals.startedCalls,
        endedCalls: totals.endedCalls,
        answeredCalls: totals.answeredCalls,
        completedCalls: listsWholeRange ? Math.max(0, completed - voicemailCalls) : completed,
        voicemailCalls,
        voicemailCountedFrom: listsWholeRange ? null : (oldest?.endedAt ?? null),
        busyCalls: totals.endedByStatus.busy ?? 0,
        noAnswerCalls: totals.endedByStatus['no-answer'] ?? 0,
        canceledCalls: totals.endedByStatus.canceled ?? 0,
        failedCalls: totals.endedByStatus.failed ?? 0,
        averageDurationMs: totals.averageDurationMs,
        at: new Date(now).toISOString(),
      };
    }),

    recentCalls: tenantProcedure
      .input(parseLimit)
      .query(async ({ ctx, input }): Promise<CallSummary[]> => {
        // The tracker indexes each end when it decides it, before the call.ended reaches the
        // browser, so the refresh after a completion already finds the call here.
        const calls = await tracker.listRecentCalls(ctx.tenantId, { limit: input.limit });
        return calls.map(toCallSummary);
      }),

    /** The campaign's leads, each with its last call. */
    leads: tenantProcedure.query(async ({ ctx }): Promise<LeadRow[]> => {
      const [active, recent] = await Promise.all([
        tracker.listActiveCalls(ctx.tenantId, { limit: 1_000 }),
        tracker.listRecentCalls(ctx.tenantId, { limit: 1_000 }),
      ]);
      return demoLeads.map((lead) => {
        // Newest first in both lists; an active call is the most recent of all.
        const last =
          active.find((call) => call.to === lead.phone) ??
          recent.find((call) => call.to === lead.phone);
        return {
          ...lead,
          contact: maskPhoneNumber(lead.phone),
          lastCall: last ? toCallSummary(last) : null,
        };
      });
    }),

    /** One call of the tenant (active or recently ended), for the completion popup. */
    callSummary: tenantProcedure
      .input(parseCallId)
      .query(async ({ ctx, input }): Promise<CallSummary | null> => {
        const call = await tracker.getCall(ctx.tenantId, input.callId);
        return call ? toCallSummary(call) : null;
      }),
  });
}
