export type { CallerDeskTenant } from './callerdesk-tenant';
export type { CallerDeskWebhookKind } from './callerdesk-webhook-kind';
export type { CallerDeskWebhookFields } from './callerdesk-webhook-payload-schema';
export type { CreateCallerDeskCallControlOptions } from './create-callerdesk-call-control';
export { createCallerDeskCallControl } from './create-callerdesk-call-control';
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
export type { ParseCallerDeskWebhookOptions } from './parse-callerdesk-webhook';
export { parseCallerDeskWebhook } from './parse-callerdesk-webhook';
export type { CallerDeskWebhookPayload } from './parse-callerdesk-webhook-payload';
export type { VerifyCallerDeskTokenOptions } from './verify-callerdesk-token';
export { verifyCallerDeskToken } from './verify-callerdesk-token';
