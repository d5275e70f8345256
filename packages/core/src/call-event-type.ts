/**
 * The documented event types. The list is open: `type` accepts any dot-separated lowercase name
 * (`noun.action`), so packages add types without a breaking change, but every type a calltrack
 * package emits is listed here.
 */
export const callEventTypes = [
  /** A call was created (outbound placed, or inbound arrived). */
  'call.initiated',
  /** The far end is ringing. */
  'call.ringing',
  /** The call was answered and is in progress. */
  'call.answered',
  /** The call reached a terminal status; `status` says which. */
  'call.ended',
  /** Post-call analysis arrived (summary, sentiment, success…); may come after `call.ended`. */
  'call.analyzed',
  /** A recording is available (`data.recordingUrl`). */
  'call.recording',
  /** Answering-machine detection finished (`data.answeredBy`). */
  'call.machine_detection',
  /** The live transcript was updated (`data.transcript`). */
  'call.transcript',
  /** A transfer started. */
  'call.transfer_started',
  /** A transfer was bridged to its destination. */
  'call.transfer_bridged',
  /** A transfer was cancelled. */
  'call.transfer_cancelled',
  /** A transfer ended. */
  'call.transfer_ended',
  /** Any other status change a provider reports (`status` holds the new status). */
  'call.status_changed',
  /** The tracker: a tenant has more active calls than allowed. */
  'alert.concurrency_exceeded',
  /** The tracker: a call has lasted longer than allowed (`callId` set). */
  'alert.long_call',
  /** The tracker: the share of failed calls in a window is over its threshold. */
  'alert.failed_call_rate',
  /** The tracker: no agent is available for a new call (`callId` set). */
  'alert.no_agent_available',
  /** Presence: a user's first connection came up (`userId` set); emitted once per transition. */
  'presence.online',
  /** Presence: a connected user stopped heartbeating, or the app set them away (`userId` set). */
  'presence.away',
  /** Presence: a user's last connection left or expired (`userId` set). */
  'presence.offline',
  /** Presence: a user's app-set state (`available`, `break`…) or data changed (`userId` set). */
  'presence.updated',
  /** Outbound webhooks: an endpoint was disabled (failing continuously, or answered 410). */
  'webhook.endpoint_disabled',
  /** Dialer: a run over a user's pending leads started (`userId` set). */
  'dialer.run_started',
  /** Dialer: a lead was skipped by a gate, with a reason code; it keeps its chance later. */
  'dialer.lead_skipped',
  /** Dialer: a call was placed for a lead (`callId` set: the tracker's events follow). */
  'dialer.call_placed',
  /** Dialer: a run ended (counts of placed, skipped and failed leads). */
  'dialer.run_finished',
  /**
   * A message for one user (`userId` set, `data.audience: 'user'`): only that user's connections
   * receive it. Presence's `send` publishes it at once, or when the user comes back online.
   */
  'user.message',
] as const;

/** A type from {@link callEventTypes}. */
export type KnownCallEventType = (typeof callEventTypes)[number];

/** An event type: one of {@link callEventTypes}, or another `noun.action` name. */
export type CallEventType = KnownCallEventType | (string & {});

/** The form every event type has: lowercase dot-separated words, at least two. */
export const callEventTypePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
