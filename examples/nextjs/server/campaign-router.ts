import { maskPhoneNumber } from '@calltrack/core';
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
  completedCalls: number;
  /** Answered by a machine (AMD, or Retell reaching voicemail): ended, but nobody talked. */
  voicemailCalls: number;
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

/** The campaign procedures: stats, the recently ended calls and one call, from the tracker. */
export function createCampaignRouter({ tracker }: { tracker: CallTracker }) {
  const tenantProcedure = t.procedure.use(({ ctx, next }) => {
    if (!ctx.tenantId) throw new TRPCError({ code: 'UNAUTHORIZED' });
    return next({ ctx: { tenantId: ctx.tenantId } });
  });

  return t.router({
    stats: tenantProcedure.query(async ({ ctx }): Promise<CampaignStats> => {
      const now = Date.now();
      const [count, analytics, recent] = await Promise.all([
        tracker.countActiveCalls(ctx.tenantId),
        tracker.getAnalytics(ctx.tenantId, { from: now - dayMs, to: now, granularity: 'hour' }),
        tracker.listRecentCalls(ctx.tenantId, { limit: 1_000 }),
      ]);
      const { totals } = analytics;
      // The tracker counts a machine-answered call as completed; the page counts it apart.
      const voicemailCalls = recent.filter(
        (call) => call.status === 'completed' && toCallSummary(call).outcome === 'voicemail',
      ).length;
      return {
        activeCalls: count.total,
        startedCalls: totals.startedCalls,
        endedCalls: totals.endedCalls,
        answeredCalls: totals.answeredCalls,
        completedCalls: Math.max(0, (totals.endedByStatus.completed ?? 0) - voicemailCalls),
        voicemailCalls,
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
