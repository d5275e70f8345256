/**
 * `@calltrack/core/internal`: what the calltrack packages share with each other and no app calls.
 * No semver: anything here may change or go in any release, together with the packages that
 * import it (decision 0066). Apps and provider packages of your own use `@calltrack/core`.
 * @packageDocumentation
 */

export { attachedWithin } from './attached-within';
export { decodeCallIdPathSegment } from './call-id-path-segment';
export { checkNoKeyPrefix } from './check-no-key-prefix';
export { checkPayloadJsonLimits } from './check-payload-json-limits';
export { checkRequestTimeoutMs } from './check-request-timeout';
export { checkTimerDelayMs, longestTimerDelayMs } from './check-timer-delay-ms';
export type { WebhookSecretOption } from './check-webhook-handler-options';
export { checkWebhookHandlerOptions } from './check-webhook-handler-options';
export type { HeartbeatOutage, HeartbeatOutageOptions } from './create-heartbeat-outage';
export { createHeartbeatOutage } from './create-heartbeat-outage';
export type { LoopFailureLog, LoopPassLog } from './create-loop-failure-log';
export { createLoopFailureLog } from './create-loop-failure-log';
export type {
  OutageIncident,
  OutageIncidentOptions,
  OutageRunFailure,
} from './create-outage-incident';
export { createOutageIncident } from './create-outage-incident';
export { createIncomingWebhookEndpoint } from './create-webhook-endpoint';
export type { EndedClientFailure } from './ended-client-notice';
export { endedClientLine, isRedisClientClosedError } from './ended-client-notice';
export { DatabaseUnavailableError } from './errors/database-unavailable-error';
export type { RepeatedJsonKey } from './find-repeated-json-key';
export { findRepeatedJsonKey } from './find-repeated-json-key';
export type { RequestHeaders } from './foreign-request-sender';
export { foreignRequestSender, refuseForeignWrite } from './foreign-request-sender';
export { hashText } from './hash-text';
export type { IncomingWebhook } from './incoming-webhook';
export { isKeyText } from './is-key-text';
export { newestCallFirst } from './newest-call-first';
export { parseAllowedOrigins } from './parse-allowed-origins';
export { parseFormBody } from './parse-form-body';
export { parseFormPairs } from './parse-form-pairs';
export { parseRetryAfterMs } from './parse-retry-after-ms';
export { acceptParsedJsonBody } from './parsed-json-body';
export type { ActiveCallsSnapshotRead } from './read-active-calls-snapshot';
export { readActiveCallsSnapshot } from './read-active-calls-snapshot';
export type { PresenceMembersRead } from './read-presence-members';
export { listsMembersAcrossTenants, readPresenceMembers } from './read-presence-members';
export { readRetryAfterSeconds } from './read-retry-after-seconds';
export { redactErrorValues } from './redact-error-values';
export type { RedisClientStatus } from './redis-client-reachability';
export { followRedisReachability } from './redis-client-reachability';
export type {
  RedisStoreClient,
  RedisStoreOperation,
  RedisStoreOperations,
} from './redis-refusal';
export {
  catchRedisStoreErrors,
  isRedisRefusingCommands,
  redisReplyCode,
  toRedisStoreError,
} from './redis-refusal';
export {
  isOutageError,
  isRedisUnavailableError,
  redisClientClosedError,
} from './redis-unavailable';
export { refuseBodyFields } from './refuse-body-fields';
export { someSecret } from './some-secret';
export { toError } from './to-error';
export { toReceivedAt } from './to-received-at';
export { checkWebhookTenant } from './webhook-tenant';
