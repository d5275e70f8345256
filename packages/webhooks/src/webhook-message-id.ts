import { hash } from 'node:crypto';

/**
 * The `webhook-id` of an event's deliveries: `msg_` and 27 characters derived from the tenant and
 * the event id. Deterministic, so every dispatcher process (and every retry, resend and recovery)
 * names the same event the same way; receivers dedupe on it.
 */
export function webhookMessageId(tenantId: string, eventId: string): string {
  // One-shot `hash`: no Hash object per event.
  const digest = hash('sha256', `${tenantId}\n${eventId}`, 'base64url');
  return `msg_${digest.slice(0, 27)}`;
}
