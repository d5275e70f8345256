// The leads of the cross-process crash test, shared by the test and its worker processes.
import type { LeadInput } from '../lead';

export const crashTenant = 'crash-tenant';
export const crashUsers = 20;

export type CrashLeadKind =
  | 'normal'
  | 'no-zone'
  | 'bad-phone'
  | 'do-not-call'
  | 'refuse'
  | 'fail-after';

/** The number of lead `index`: unique per lead, so calls are counted per lead. */
export function crashNumber(index: number): string {
  return `+1415${String(6_000_000 + index)}`;
}

/** What lead `index` is: about 1 in 100 of each fault or gate. */
export function crashKind(index: number): CrashLeadKind {
  switch (index % 100) {
    case 11:
      return 'no-zone';
    case 23:
      return 'bad-phone';
    case 37:
      return 'do-not-call';
    case 51:
      return 'refuse';
    case 73:
      return 'fail-after';
    default:
      return 'normal';
  }
}

/** How many of the first `count` leads are of `kind`. */
export function countCrashLeads(kind: CrashLeadKind, count: number): number {
  let found = 0;
  for (let index = 0; index < count; index += 1) if (crashKind(index) === kind) found += 1;
  return found;
}

export function crashLeads(count: number): LeadInput[] {
  return Array.from({ length: count }, (_, index) => {
    const kind = crashKind(index);
    return {
      tenantId: crashTenant,
      leadId: `lead-${String(index).padStart(6, '0')}`,
      userId: `user-${index % crashUsers}`,
      phoneNumber: kind === 'bad-phone' ? `555-${index}` : crashNumber(index),
      ...(kind === 'no-zone' ? {} : { timeZone: 'UTC' }),
    };
  });
}
