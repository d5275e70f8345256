import { demoLines } from './demo-lines';
import type { SimulatorLine } from './simulator-line';

/**
 * Finds the line a phone number belongs to, for an app's `resolveTenant`. The number may be in
 * E.164 (`+14155550100`), or the way providers send it: CallerDesk's `08041234567` or
 * `918041234567`, bare national digits, with spaces or dashes. Returns `undefined` for an
 * unknown number, `undefined`, or a SIP / client address.
 *
 * For Twilio, whose context has no "own number", try both ends (a customer's number is never
 * a demo line): `findDemoLine(to) ?? findDemoLine(from)`.
 *
 * @param number - The number to look up.
 * @param lines - The lines to search; defaults to {@link demoLines}.
 * @example
 * findDemoLine('08041234567'); // { provider: 'callerdesk', number: '+918041234567', tenantId: 'demo', branchId: 'bengaluru' }
 */
export function findDemoLine(
  number: string | null | undefined,
  lines: readonly SimulatorLine[] = demoLines,
): SimulatorLine | undefined {
  if (typeof number !== 'string') return undefined;
  const candidates = toE164Candidates(number);
  if (candidates.length === 0) return undefined;
  return lines.find((line) => candidates.includes(line.number));
}

function toE164Candidates(value: string): string[] {
  const trimmed = value.trim();
  if (!/^\+?[\d\s().-]+$/.test(trimmed)) return [];
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length < 8) return [];
  if (trimmed.startsWith('+')) return [`+${digits}`];
  if (digits.startsWith('00')) return [`+${digits.slice(2)}`];
  if (digits.length === 11 && digits.startsWith('0')) return [`+91${digits.slice(1)}`];
  if (digits.length === 10) return [`+1${digits}`, `+91${digits}`];
  return [`+${digits}`];
}
