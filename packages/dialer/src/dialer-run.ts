import type { DialerRunFinishedData } from './dialer-event-data';

/** A run as {@link Dialer.getRun} reports it: its counts so far, final once it finished. */
export interface DialerRun extends DialerRunFinishedData {
  tenantId: string;
  userId: string;
  /** `trigger`, or `follow_up` for a run a trigger scheduled while another was active. */
  cause: 'trigger' | 'follow_up';
  state: 'running' | 'finished';
  /** ISO 8601, by the dialer's clock. */
  startedAt: string;
  finishedAt?: string;
}
