export { computeTwilioBodySha256 } from './compute-twilio-body-sha256';
export type { ComputeTwilioSignatureOptions } from './compute-twilio-signature';
export { computeTwilioSignature } from './compute-twilio-signature';
export type {
  CreateTwilioCallControlOptions,
  TwilioCallInstructions,
} from './create-twilio-call-control';
export { createTwilioCallControl } from './create-twilio-call-control';
export type {
  CreateTwilioClientOptions,
  EndTwilioCallOptions,
  PlaceTwilioCallOptions,
  TwilioClient,
  TwilioRecordingStatusCallbackEvent,
  TwilioStatusCallbackEvent,
} from './create-twilio-client';
export { createTwilioClient } from './create-twilio-client';
export type {
  CreateTwilioWebhookHandlerOptions,
  TwilioAuthTokenContext,
  TwilioAuthTokenLookup,
  TwilioTenantContext,
  TwilioWebhookHandler,
} from './create-twilio-webhook-handler';
export { createTwilioWebhookHandler } from './create-twilio-webhook-handler';
export type { TwilioCall } from './parse-twilio-call-resource';
export type { ParseTwilioWebhookOptions } from './parse-twilio-webhook';
export { parseTwilioWebhook } from './parse-twilio-webhook';
export type { TwilioWebhookKind } from './parse-twilio-webhook-payload';
export type { TwilioApiErrorOptions } from './twilio-api-error';
export { TwilioApiError } from './twilio-api-error';
export type { TwilioParams } from './twilio-params';
export type { TwilioTenant } from './twilio-tenant';
export type { VerifyTwilioSignatureOptions } from './verify-twilio-signature';
export { verifyTwilioSignature } from './verify-twilio-signature';
