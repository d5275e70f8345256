export { callEventReference } from './call-event-reference';
export type { CallPacer } from './call-pacer';
export type {
  CallingHours,
  CallingWindow,
  CallingWindowOptions,
  Weekday,
} from './calling-window';
export { createCallingWindow } from './calling-window';
export type { GateDecision, LeadGates } from './check-lead-gates';
export { checkLeadGates } from './check-lead-gates';
export { createDialer } from './create-dialer';
export type { CreateDialerHandlerOptions } from './create-dialer-handler';
export { createDialerHandler } from './create-dialer-handler';
export type { MemoryCallPacerOptions } from './create-memory-call-pacer';
export { createMemoryCallPacer } from './create-memory-call-pacer';
export { createMemoryDialerLocks } from './create-memory-dialer-locks';
export { createMemoryDoNotCallList } from './create-memory-do-not-call-list';
export { createMemoryLeadStore } from './create-memory-lead-store';
export type {
  CallEventOutcome,
  Dialer,
  DialerAccount,
  DialerBus,
  DialerOptions,
  DialerUserFollow,
  DialerUserUpdate,
  ReconcileReport,
  RunSummary,
  TriggerResult,
} from './dialer';
export type { DialerClock } from './dialer-clock';
export type {
  DialerCallPlacedData,
  DialerLeadSkippedData,
  DialerRunFinishedData,
  DialerRunStartedData,
} from './dialer-event-data';
export type { DialerLease, DialerLocks } from './dialer-locks';
export type { DialerRun } from './dialer-run';
export type { DoNotCallList } from './do-not-call-list';
export { InvalidLeadError } from './errors/invalid-lead-error';
export type { Lead, LeadCallStatus, LeadInput } from './lead';
export { leadCallStatuses } from './lead';
export type { AttemptState, LeadAttempt } from './lead-attempt';
export { attemptTransitions, canMoveAttempt, leadStatusOfAttempt } from './lead-attempt';
export type { LeadJson } from './lead-json';
export type {
  AddLeadsResult,
  AttemptUpdate,
  AttemptUpdateRefusal,
  AttemptUpdateResult,
  CheckedLead,
  ClaimLeadsRequest,
  ClaimRefusal,
  ClaimResult,
  CountLiveAttemptsQuery,
  DetachedAttempt,
  ExpiredAttempt,
  ExpiredAttemptOutcome,
  LeadSkip,
  LeadStore,
  ListAttemptsQuery,
  ListExpiredAttemptsQuery,
  ListLeadsQuery,
  ListPendingLeadsQuery,
  ListPlacedAttemptsQuery,
  OrphanExpiredAttemptsRequest,
} from './lead-store';
export type { SkipReason } from './skip-reason';
export { skipReasons } from './skip-reason';
