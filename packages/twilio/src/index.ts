export { computeTwilioBodySha256 } from './compute-twilio-body-sha256';
export type { ComputeTwilioSignatureOptions } from './compute-twilio-signature';
export { computeTwilioSignature } from './compute-twilio-signature';
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
} from './create-twilio-webhook-handler';
export { createTwilioWebhookHandler } from './create-twilio-webhook-handler';
export type { TwilioCallStatus, TwilioCallStatusMapping } from './map-twilio-call-status';
export { mapTwilioCallStatus, twilioCallStatuses } from './map-twilio-call-status';
export { mapTwilioDirection } from './map-twilio-direction';
export { normalizeTwilioPhoneNumber } from './normalize-twilio-phone-number';
export type { TwilioCall } from './parse-twilio-call-resource';
export { parseTwilioTimestamp } from './parse-twilio-timestamp';
export type { ParseTwilioWebhookOptions } from './parse-twilio-webhook';
export { parseTwilioWebhook } from './parse-twilio-webhook';
export type { TwilioWebhookKind } from './parse-twilio-webhook-payload';
export type { TwilioAmdStatusCallback } from './twilio-amd-status-callback-schema';
export { twilioAmdStatusCallbackSchema } from './twilio-amd-status-callback-schema';
export type { TwilioApiErrorOptions } from './twilio-api-error';
export { TwilioApiError } from './twilio-api-error';
export type { TwilioParams } from './twilio-params';
export type { TwilioRecordingStatusCallback } from './twilio-recording-status-callback-schema';
export { twilioRecordingStatusCallbackSchema } from './twilio-recording-status-callback-schema';
export { twilioSidSchema } from './twilio-sid-schema';
export type { TwilioStatusCallback } from './twilio-status-callback-schema';
export { twilioStatusCallbackSchema } from './twilio-status-callback-schema';
export type { TwilioTenant } from './twilio-tenant';
export type { VerifyTwilioSignatureOptions } from './verify-twilio-signature';
export { verifyTwilioSignature } from './verify-twilio-signature';
