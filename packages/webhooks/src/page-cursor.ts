import { InvalidArgumentError } from '@calltrack/core';
import type { WebhookDelivery } from './webhook-delivery';

/** Where a page of a list ended: the last item's time and key (see `ListQuery`). */
export interface PageCursor {
  before: number;
  beforeKey: string;
}

/**
 * The opaque `nextCursor` of a page: the last item's time and key, base64url. Opaque so callers
 * pass it back as it is, and the key (the tie-breaker within a millisecond) can change.
 */
export function encodePageCursor(before: number, beforeKey: string): string {
  return Buffer.from(`${before}.${beforeKey}`).toString('base64url');
}

/** The time and key in a `cursor` from {@link encodePageCursor}; a 400 for anything else. */
export function decodePageCursor(cursor: unknown): PageCursor {
  const text =
    typeof cursor === 'string' && /^[A-Za-z0-9_-]{1,400}$/.test(cursor)
      ? Buffer.from(cursor, 'base64url').toString()
      : '';
  const parts = /^(\d{1,15})\.([\x21-\x7e]{1,250})$/.exec(text);
  if (!parts) {
    throw new InvalidArgumentError({
      message: '"cursor" must be a nextCursor from an earlier page, as it was given.',
    });
  }
  return { before: Number(parts[1]), beforeKey: parts[2]! };
}

/** A delivery's key in lists (`ListQuery`): unique per tenant, and the Redis dead-letter member. */
export function deliveryListKey(
  delivery: Pick<WebhookDelivery, 'endpointId' | 'messageId'>,
): string {
  return `${delivery.endpointId}:${delivery.messageId}`;
}
