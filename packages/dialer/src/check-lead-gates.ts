import type { CallingWindow } from './calling-window';
import type { DoNotCallList } from './do-not-call-list';
import { isE164Number } from './is-e164-number';
import type { Lead } from './lead';
import type { SkipReason } from './skip-reason';
import { isValidTimeZone } from './zoned-time';

/** The compliance gates a lead passes before it is claimed. */
export interface LeadGates {
  window: CallingWindow;
  /** The zone of leads that have none; without it they are skipped (`missing_time_zone`). */
  defaultTimeZone?: string;
  /** Only its `has` is asked. */
  doNotCall?: Pick<DoNotCallList, 'has'>;
  /** Your own check (a national registry, consent in your CRM): true means do not call. */
  isDoNotCall?: (lead: Lead) => boolean | Promise<boolean>;
  maxAttempts?: number;
  minAttemptGapMs?: number;
}

/** What {@link checkLeadGates} decided. */
export type GateDecision =
  | { pass: true }
  | { pass: false; reason: SkipReason; retryAt?: number; error?: unknown };

/**
 * Runs the gates in order, at dial time: a dialable number and time zone, then the do-not-call
 * list and hook, then the calling window in the lead's zone, then the attempt cap and gap. The
 * first gate that fails decides the skip. A failing do-not-call check fails closed.
 */
export async function checkLeadGates(
  lead: Lead,
  now: number,
  gates: LeadGates,
): Promise<GateDecision> {
  if (!isE164Number(lead.phoneNumber)) {
    return { pass: false, reason: 'invalid_phone' };
  }
  // An empty zone (a row with `tz = ''`) is no zone: the default applies.
  const timeZone = lead.timeZone || gates.defaultTimeZone;
  if (timeZone === undefined || timeZone === '')
    return { pass: false, reason: 'missing_time_zone' };
  if (!isValidTimeZone(timeZone)) return { pass: false, reason: 'invalid_time_zone' };
  try {
    const listed = async (): Promise<boolean> =>
      gates.doNotCall !== undefined && (await gates.doNotCall.has(lead.tenantId, lead.phoneNumber));
    if (await listed()) return { pass: false, reason: 'do_not_call' };
    if (gates.isDoNotCall) {
      if ((await gates.isDoNotCall(lead)) === true) return { pass: false, reason: 'do_not_call' };
      // Your hook may take seconds (a registry lookup, up to `hookTimeoutMs`): a number put on
      // the list meanwhile was dialled. The list is read again, so what it holds at dial time
      // counts; first too, so a listed number costs no lookup.
      if (await listed()) return { pass: false, reason: 'do_not_call' };
    }
  } catch (error) {
    return { pass: false, reason: 'do_not_call_unavailable', error };
  }
  const window = gates.window.check(now, timeZone);
  if (!window.open) {
    return {
      pass: false,
      reason: 'outside_calling_window',
      ...(window.retryAt === undefined ? {} : { retryAt: window.retryAt }),
    };
  }
  if (gates.maxAttempts !== undefined && lead.attemptCount >= gates.maxAttempts) {
    return { pass: false, reason: 'attempt_cap' };
  }
  if (
    gates.minAttemptGapMs !== undefined &&
    lead.lastAttemptAt !== undefined &&
    now - lead.lastAttemptAt < gates.minAttemptGapMs
  ) {
    return { pass: false, reason: 'too_soon', retryAt: lead.lastAttemptAt + gates.minAttemptGapMs };
  }
  return { pass: true };
}
