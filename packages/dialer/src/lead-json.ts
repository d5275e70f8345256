import type { CallStatus } from '@calltrack/core';
import type { Lead, LeadCallStatus } from './lead';

/** A lead on the wire (the dialer's HTTP route): times as ISO 8601, no fencing token. */
export interface LeadJson {
  leadId: string;
  userId: string;
  phoneNumber: string;
  timeZone: string | null;
  callStatus: LeadCallStatus;
  hasBeenCalled: boolean;
  attemptCount: number;
  lastAttemptAt: string | null;
  attemptId: string | null;
  provider: string | null;
  callId: string | null;
  callOutcome: CallStatus | null;
  /** Why the dialer last skipped the lead (a `SkipReason`), while it stays pending. */
  skipReason: string | null;
  skippedAt: string | null;
}

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString();

/** A lead as JSON; the fence stays on the server (it only means something to writers). */
export function toLeadJson(lead: Lead): LeadJson {
  return {
    leadId: lead.leadId,
    userId: lead.userId,
    phoneNumber: lead.phoneNumber,
    timeZone: lead.timeZone ?? null,
    callStatus: lead.callStatus,
    hasBeenCalled: lead.hasBeenCalled,
    attemptCount: lead.attemptCount,
    lastAttemptAt: iso(lead.lastAttemptAt),
    attemptId: lead.attemptId ?? null,
    provider: lead.provider ?? null,
    callId: lead.callId ?? null,
    callOutcome: lead.callOutcome ?? null,
    skipReason: lead.skipReason ?? null,
    skippedAt: iso(lead.skippedAt),
  };
}
