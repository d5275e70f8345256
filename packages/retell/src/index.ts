export type { RetellWebhookBody } from './compute-retell-digest';
export type { CreateRetellCallControlOptions } from './create-retell-call-control';
export { createRetellCallControl } from './create-retell-call-control';
export type {
  CreateRetellClientOptions,
  RetellClient,
  RetellEndCallOptions,
  RetellPlaceCallOptions,
  RetellPlacedCall,
} from './create-retell-client';
export { createRetellClient } from './create-retell-client';
export type {
  CreateRetellWebhookHandlerOptions,
  RetellApiKeyContext,
  RetellApiKeyLookup,
  RetellTenantContext,
  RetellTenantResolver,
  RetellWebhookHandler,
} from './create-retell-webhook-handler';
export { createRetellWebhookHandler } from './create-retell-webhook-handler';
export type { ParseRetellWebhookOptions } from './parse-retell-webhook';
export { parseRetellWebhook } from './parse-retell-webhook';
export type { RetellTenant } from './retell-tenant';
export { retellWebhookIpAddresses } from './retell-webhook-ip-addresses';
export type { RetellCall, RetellWebhookPayload } from './retell-webhook-payload-schema';
export type { SignRetellWebhookOptions } from './sign-retell-webhook';
export { signRetellWebhook } from './sign-retell-webhook';
export type { VerifyRetellSignatureOptions } from './verify-retell-signature';
export { verifyRetellSignature } from './verify-retell-signature';
