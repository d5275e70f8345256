import type { CallEvent } from '@calltrack/core';

/** What every delivery's body holds: the Standard Webhooks envelope around one event. */
export interface WebhookPayload {
  /** The event type, e.g. `call.ended`. */
  type: string;
  /** When the event happened (the event's `occurredAt`), ISO 8601. */
  timestamp: string;
  /**
   * The event: every field of the `CallEvent` but `raw`. When the body would be larger than
   * `maxPayloadBytes`, the largest fields of `data.data` are left out and named in
   * `data.omitted` (for example `["data.transcript"]`).
   */
  data: Omit<CallEvent, 'raw'> & { omitted?: string[] };
}

/**
 * The body sent for an event: `{ type, timestamp, data }` as JSON, at most `maxBytes` bytes. The
 * provider's `raw` payload is never sent. When the event is too large, the biggest parts of its
 * free-form `data` are dropped, largest first, and listed in `data.omitted`, so the receiver
 * knows what to fetch from the API instead.
 */
export function createWebhookBody(event: CallEvent, maxBytes: number): string {
  const { raw: _raw, ...rest } = event;
  const payload: WebhookPayload = { type: event.type, timestamp: event.occurredAt, data: rest };
  let body = JSON.stringify(payload);
  // A UTF-16 unit is at most 3 UTF-8 bytes: most bodies need no byte count.
  if (body.length * 3 <= maxBytes || Buffer.byteLength(body) <= maxBytes) return body;
  const data: Record<string, unknown> = { ...rest.data };
  const bySize = Object.keys(data)
    .map((key) => ({ key, size: Buffer.byteLength(JSON.stringify(data[key]) ?? '') }))
    .sort((a, b) => b.size - a.size);
  const omitted: string[] = [];
  for (const { key } of bySize) {
    delete data[key];
    omitted.push(`data.${key}`);
    body = JSON.stringify({ ...payload, data: { ...rest, data, omitted } });
    if (Buffer.byteLength(body) <= maxBytes) return body;
  }
  return body;
}
