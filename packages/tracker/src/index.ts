export type {
  CallAnalytics,
  CallAnalyticsBucket,
  CallAnalyticsFigures,
} from '@calltrack/core';
export type { ActiveCallCount } from './active-call-count';
export type { AnalyticsGranularity } from './analytics-granularity';
export { analyticsGranularities } from './analytics-granularity';
export type {
  AgentAvailabilityContext,
  CallAlertOptions,
  TrackerAlertType,
} from './call-alert-options';
export { trackerAlertTypes } from './call-alert-options';
export type { CallDetailName, CallDetails } from './call-details';
export { callDetailNames } from './call-details';
export type {
  AnalyticsBucketData,
  CallApplyOutcome,
  CallApplyResult,
  CallEventKey,
  CallStore,
  ListActiveCallsQuery,
  ListEndedCallsQuery,
  UnpublishedEnd,
} from './call-store';
export type {
  CallTracker,
  CallTrackerOptions,
  GetAnalyticsOptions,
  IngestResult,
  ListActiveCallsOptions,
  ListRecentCallsOptions,
  MaintenanceReport,
} from './call-tracker';
export type { CallIdentity, CallTransition, CallTransitionSettings } from './call-transition';
export { createCallTracker } from './create-call-tracker';
export { createMemoryCallStore } from './create-memory-call-store';
export { createMemoryIdempotencyStore } from './create-memory-idempotency-store';
export type { CreateTrackerHandlerOptions } from './create-tracker-handler';
export { createTrackerHandler } from './create-tracker-handler';
export type { IdempotencyClaim, IdempotencyStore, IdempotentAnswer } from './idempotency-store';
export { RequestIdReusedError } from './request-id-reused-error';
export type { CallControlContext, TrackerCallControl } from './tracker-call-control';
