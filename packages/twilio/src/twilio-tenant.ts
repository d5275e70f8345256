import type { WebhookTenant } from '@calltrack/core';

/**
 * Whose call a Twilio webhook belongs to: core's `WebhookTenant`. `tenantId` is required (up to
 * 128 characters, no whitespace, control characters or braces); the rest is copied onto every
 * event when given.
 */
export type TwilioTenant = WebhookTenant;
