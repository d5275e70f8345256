import type { CallAlertOptions } from '@calltrack/tracker';

/**
 * The branches with an agent on shift, in the demo's roster. `bengaluru` has nobody, so its calls
 * raise `alert.no_agent_available`. A real app answers from `@calltrack/presence` or its own
 * roster.
 */
const branchesWithAgents: ReadonlySet<string> = new Set(['north', 'south']);

/**
 * The console's alert thresholds, low enough that `npm start`'s simulated traffic trips each of
 * them within a few minutes (a real floor sets its own): more than 6 calls at once, a call longer
 * than 2 minutes, more than 5% failed calls over 15 minutes (at least 5 ended), and a call on a
 * branch without agents. Each fires at most once per 2 minutes per subject.
 */
export const demoAlertRules: CallAlertOptions = {
  maxConcurrentCalls: 6,
  longCallMs: 2 * 60_000,
  failedCallRate: { threshold: 0.05, windowMs: 15 * 60_000, minCalls: 5 },
  isAgentAvailable: ({ branchId }) => branchId === undefined || branchesWithAgents.has(branchId),
  cooldownMs: 2 * 60_000,
};
