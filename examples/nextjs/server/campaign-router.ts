import type { CallTracker } from '@calltrack/tracker';
import { TRPCError } from '@trpc/server';
import { type CallSummary, toCallSummary } from './call-summary';
import { t } from './trpc';

/** The campaign page's figures: active calls now, and calls of the last 24 hours. */
export interface CampaignStats {
  activeCalls: number;
  startedCalls: number;
  endedCalls: number;
  answeredCalls: number;
  completedCalls: number;
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
      const [count, analytics] = await Promise.all([
        tracker.countActiveCalls(ctx.tenantId),
        tracker.getAnalytics(ctx.tenantId, { from: now - dayMs, to: now, granularity: 'hour' }),
      ]);
      const { totals } = analytics;
      return {
        activeCalls: count.total,
        startedCalls: totals.startedCalls,
        endedCalls: totals.endedCalls,
        answeredCalls: totals.answeredCalls,
        completedCalls: totals.endedByStatus.completed ?? 0,
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

    /** One call of the tenant (active or recently ended), for the completion popup. */
    callSummary: tenantProcedure
      .input(parseCallId)
      .query(async ({ ctx, input }): Promise<CallSummary | null> => {
        const call = await tracker.getCall(ctx.tenantId, input.callId);
        return call ? toCallSummary(call) : null;
      }),
  });
}
