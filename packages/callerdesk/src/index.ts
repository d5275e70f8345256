export type { CallerDeskTenant } from './callerdesk-tenant';
export type { CallerDeskWebhookFields } from './callerdesk-webhook-payload-schema';
export { callerDeskWebhookPayloadSchema } from './callerdesk-webhook-payload-schema';
export type {
  CallerDeskClickToCallOptions,
  CallerDeskClickToCallResult,
  CallerDeskClient,
  CreateCallerDeskClientOptions,
} from './create-callerdesk-client';
export { createCallerDeskClient } from './create-callerdesk-client';
export type {
  CallerDeskTenantContext,
  CallerDeskTenantResolver,
  CallerDeskTokenContext,
  CallerDeskTokenLocation,
  CallerDeskTokenLookup,
  CallerDeskWebhookHandler,
  CreateCallerDeskWebhookHandlerOptions,
} from './create-callerdesk-webhook-handler';
export { createCallerDeskWebhookHandler } from './create-callerdesk-webhook-handler';
export { mapCallerDeskDirection } from './map-callerdesk-direction';
export type { CallerDeskWebhookKind } from './map-callerdesk-status';
export { callerDeskStatusKey, mapCallerDeskStatus } from './map-callerdesk-status';
export { normalizeCallerDeskPhoneNumber } from './normalize-callerdesk-phone-number';
export { parseCallerDeskTime } from './parse-callerdesk-time';
export type { ParseCallerDeskWebhookOptions } from './parse-callerdesk-webhook';
export { parseCallerDeskWebhook } from './parse-callerdesk-webhook';
export type {
  CallerDeskWebhookPayload,
  ParseCallerDeskWebhookPayloadOptions,
} from './parse-callerdesk-webhook-payload';
export { parseCallerDeskWebhookPayload } from './parse-callerdesk-webhook-payload';
export type { VerifyCallerDeskTokenOptions } from './verify-callerdesk-token';
export { verifyCallerDeskToken } from './verify-callerdesk-token';
