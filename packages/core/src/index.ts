export type { ActiveCallsReader } from './active-calls-reader';
export type {
  AnalyticsGranularity,
  CallAnalytics,
  CallAnalyticsBucket,
  CallAnalyticsFigures,
} from './call-analytics';
export type { CallControl, PlaceCallRequest, PlacedCall } from './call-control';
export type { CallDirection } from './call-direction';
export { callDirectionSchema, callDirections } from './call-direction';
export type { CallEvent, CallEventData } from './call-event-schema';
export {
  callEventDataSchema,
  callEventLimits,
  callEventSchema,
} from './call-event-schema';
export type { CallEventType, KnownCallEventType } from './call-event-type';
export { callEventTypePattern, callEventTypes } from './call-event-type';
export { callIdPathSegment } from './call-id-path-segment';
export type { CallSnapshot } from './call-snapshot';
export { callSnapshotSchema } from './call-snapshot';
export type { CallStatus } from './call-status';
export {
  callStatuses,
  callStatusSchema,
  isTerminalStatus,
  terminalCallStatuses,
} from './call-status';
export type { JsonLimits, JsonLimitViolation } from './check-json-limits';
export { checkJsonLimits } from './check-json-limits';
export type { Clock } from './clock';
export type { ConformanceTestApi } from './conformance-test-api';
export type { ConnectionPresence, PresenceRegistration } from './connection-presence';
export type {
  WebhookEndpointContext,
  WebhookEndpointOptions,
  WebhookErrorHandler,
  WebhookHandler,
} from './create-webhook-endpoint';
export { createWebhookEndpoint } from './create-webhook-endpoint';
export { AddressNotAllowedError } from './errors/address-not-allowed-error';
export { AmbiguousCredentialsError } from './errors/ambiguous-credentials-error';
export { BusUnavailableError } from './errors/bus-unavailable-error';
export type { CallTrackErrorOptions } from './errors/calltrack-error';
export { CallTrackError } from './errors/calltrack-error';
export { InvalidArgumentError } from './errors/invalid-argument-error';
export type { InvalidEventIssue } from './errors/invalid-event-error';
export { InvalidEventError } from './errors/invalid-event-error';
export { InvalidPayloadError } from './errors/invalid-payload-error';
export { InvalidSignatureError } from './errors/invalid-signature-error';
export { MethodNotAllowedError } from './errors/method-not-allowed-error';
export { MissingSignatureError } from './errors/missing-signature-error';
export { NotFoundError } from './errors/not-found-error';
export { PayloadTooLargeError } from './errors/payload-too-large-error';
export type { ProviderApiErrorOptions } from './errors/provider-api-error';
export { ProviderApiError } from './errors/provider-api-error';
export { RateLimitedError } from './errors/rate-limited-error';
export { RedisUnavailableError } from './errors/redis-unavailable-error';
export { UnauthorizedError } from './errors/unauthorized-error';
export { UnknownTenantError } from './errors/unknown-tenant-error';
export { UnsupportedMediaTypeError } from './errors/unsupported-media-type-error';
export { UnsupportedOperationError } from './errors/unsupported-operation-error';
export type { EventSink, EventSinkResult } from './event-sink';
export type { FetchHandler, FetchHandlerContext } from './fetch-handler';
export type { AllowClientAddress } from './is-allowed-client-address';
export type { JsonResponseInit } from './json-response';
export { jsonResponse } from './json-response';
export type { Logger } from './logger';
export { maskPhoneNumber } from './mask-phone-number';
export { parseCallEvent } from './parse-call-event';
export type { PresenceStatus } from './presence-status';
export { presenceStatuses } from './presence-status';
export type { Authenticate, Principal } from './principal';
export { principalSchema } from './principal';
export type { PublishEventsResult } from './publish-events';
export { publishEvents } from './publish-events';
export type { RawOmittedReason, RawPayloadFields } from './raw-payload-fields';
export { rawPayloadFields } from './raw-payload-fields';
export type { ReadRequestTextOptions } from './read-request-text';
export { readRequestText } from './read-request-text';
export { resolveWebhookTenant } from './resolve-webhook-tenant';
export { isSealedCallEvent, sealCallEvent, withCallSnapshot } from './seal-call-event';
export { singleCredential } from './single-credential';
export type { SecretLookupResult, Secrets } from './some-secret';
export { tenantIdSchema } from './tenant-id-schema';
export { timingSafeEqual } from './timing-safe-equal';
export { toErrorResponse } from './to-error-response';
export type { UserAddressedEvent } from './user-addressed-event';
export { isEventForPrincipal, isUserAddressedEvent, userAudience } from './user-addressed-event';
export type { PresenceMember, UserPresence } from './user-presence';
export type { WebhookRateLimit, WebhookRateLimiter } from './webhook-rate-limit';
export type { WebhookTenant, WebhookTenantResolver } from './webhook-tenant';
