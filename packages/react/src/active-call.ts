/**
 * A call as the server's tracker describes it (`TrackedCall` from `@calltrack/tracker`): what the
 * snapshot lists and what every tracked event carries in `event.data.call`. Only the fields the
 * client store relies on are typed; the rest passes through untouched.
 */
export interface ActiveCall {
  /** The provider's call id. */
  callId: string;
  /** Grows with every change; of two snapshots of one call, the higher version wins. */
  version: number;
  /** True while the call is queued, ringing or in progress. */
  active?: boolean;
  /** The call's status, e.g. `ringing`, `in-progress`, `completed`. */
  status?: string;
  /** Every other field of the tracker's call (`from`, `to`, `branchId`, `durationMs`…). */
  [field: string]: unknown;
}
