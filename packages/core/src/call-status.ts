import { z } from 'zod';

/**
 * The one normalized status vocabulary every provider maps into. The last five are terminal:
 * once a call reaches one of them it never leaves it.
 */
export const callStatuses = [
  'queued',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
] as const;

/** A normalized call status. */
export type CallStatus = (typeof callStatuses)[number];

/** The statuses a call ends in. */
export const terminalCallStatuses: readonly CallStatus[] = [
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
];

/** zod schema of {@link CallStatus}. */
export const callStatusSchema = z.enum(callStatuses);

const terminal = new Set<string>(terminalCallStatuses);

/** True for `completed`, `busy`, `no-answer`, `failed` and `canceled`. */
export function isTerminalStatus(status: string | undefined | null): boolean {
  return status != null && terminal.has(status);
}
