/**
 * The parts of an event's `data` the tracker keeps on the call. Each is last-writer-wins by the
 * event's position in the call's timeline (see `CallPosition`), so the stored value does not
 * depend on the order events arrived in. Transcripts are not kept (they grow with every turn):
 * subscribe to `call.transcript` events for those.
 */
export interface CallDetails {
  durationMs?: number;
  answeredBy?: string;
  recordingUrl?: string;
  recordingDurationMs?: number;
  analysis?: Record<string, unknown>;
  cost?: { amount: number; currency: string };
  disconnectionReason?: string;
  reason?: string;
}

/** The names of {@link CallDetails}, in a fixed order. */
export const callDetailNames = [
  'durationMs',
  'answeredBy',
  'recordingUrl',
  'recordingDurationMs',
  'analysis',
  'cost',
  'disconnectionReason',
  'reason',
] as const satisfies readonly (keyof CallDetails)[];

/** A name from {@link callDetailNames}. */
export type CallDetailName = (typeof callDetailNames)[number];
