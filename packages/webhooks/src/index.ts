export type { EndpointStats } from './compute-endpoint-stats';
export type { AddressGuard } from './create-address-guard';
export { createAddressGuard } from './create-address-guard';
export type { ResolveHost } from './create-guarded-lookup';
export { createMemoryWebhookStore } from './create-memory-webhook-store';
export type { WebhookPayload } from './create-webhook-body';
export { createWebhookDispatcher } from './create-webhook-dispatcher';
export type { CreateWebhookHandlerOptions } from './create-webhook-handler';
export { createWebhookHandler } from './create-webhook-handler';
export { AddressBlockedError } from './errors/address-blocked-error';
export { EndpointQuotaExceededError } from './errors/endpoint-quota-exceeded-error';
export { EventsMissedError } from './errors/events-missed-error';
export { InvalidEndpointError } from './errors/invalid-endpoint-error';
export type { EndpointInput } from './parse-endpoint-input';
export { defaultRetrySchedule } from './retry-schedule';
export type { SignWebhookInput } from './sign-webhook';
export { signWebhook } from './sign-webhook';
export type { VerifyWebhookOptions, WebhookHeaders } from './verify-webhook';
export { verifyWebhook } from './verify-webhook';
export type { WebhookClock } from './webhook-clock';
export type {
  AttemptTrigger,
  DeliveryJob,
  DeliveryJobOutcome,
  WebhookAttempt,
  WebhookDelivery,
  WebhookMessage,
} from './webhook-delivery';
export type {
  AttemptsPage,
  FailedDeliveriesPage,
  WebhookDispatcher,
  WebhookDispatcherOptions,
  WebhookDispatcherStartOptions,
} from './webhook-dispatcher';
export type {
  EndpointDisabledReason,
  StoredEndpoint,
  StoredSecret,
  WebhookEndpoint,
} from './webhook-endpoint';
export { webhookMessageId } from './webhook-message-id';
export { generateWebhookSecret } from './webhook-secret';
export type {
  AttemptStart,
  CreatedDeliveries,
  DeliveryJobHandler,
  DeliveryWorkerOptions,
  EndpointSettings,
  ListQuery,
  RecordAttemptInput,
  RecordAttemptResult,
  WebhookStore,
} from './webhook-store';
