import type { WebhookMessage } from './webhook-delivery';

/**
 * Whether a message is within the retention at `now` (the dispatcher's clock): messages and the
 * deliveries of them are kept `retentionMs` after the message was created.
 */
export function isKept(message: WebhookMessage, now: number, retentionMs: number): boolean {
  return message.createdAt >= now - retentionMs;
}
