import type { CallSnapshot, CallStatus } from '@calltrack/core';

/** The alert event types the tracker publishes (`provider: 'calltrack'`). */
export const trackerAlertTypes = [
  /** A tenant has more active calls than `maxConcurrentCalls`. */
  'alert.concurrency_exceeded',
  /** A call has been active for longer than `longCallMs` (has `callId`). */
  'alert.long_call',
  /** The share of failed calls over `failedCallRate.windowMs` exceeds the threshold. */
  'alert.failed_call_rate',
  /** `isAgentAvailable` said no agent can take a new call (has `callId`). */
  'alert.no_agent_available',
] as const;

/** A type from {@link trackerAlertTypes}. */
export type TrackerAlertType = (typeof trackerAlertTypes)[number];

/** What the `isAgentAvailable` hook is asked about. */
export interface AgentAvailabilityContext {
  tenantId: string;
  branchId?: string;
  /** The call that just became active. */
  call: CallSnapshot;
}

/**
 * Alert rules. Each fires at most once per `cooldownMs` per tenant and subject, across every
 * process sharing the store (`long_call` once per call), and its event id is deterministic per
 * cooldown window, so a repeat is also dropped by the bus.
 */
export interface CallAlertOptions {
  /** Alert when a tenant's active calls exceed this (a number, or per tenant; undefined: no limit). */
  maxConcurrentCalls?: number | ((tenantId: string) => number | undefined);
  /** Alert when a call has been active longer than this (checked by `runMaintenance`). */
  longCallMs?: number;
  /** Alert when too many of the calls ended within a window failed. */
  failedCallRate?: {
    /** Share of failed calls (0–1) above which to alert. */
    threshold: number;
    /** The window, ms. Default 15 minutes; at most the minute-analytics retention. */
    windowMs?: number;
    /** Fewest ended calls in the window before the rate counts. Default 10. */
    minCalls?: number;
    /** Which end statuses count as failed. Default `['failed']` (which includes reaped calls). */
    statuses?: readonly CallStatus[];
  };
  /**
   * Asked whenever a call becomes active; answer false when no agent can take it. Your app
   * implements it (from presence, a roster, a queue). Errors it throws are logged.
   */
  isAgentAvailable?: (context: AgentAvailabilityContext) => boolean | Promise<boolean>;
  /** Quiet time after an alert, per tenant and subject. Default 15 minutes. */
  cooldownMs?: number;
}
