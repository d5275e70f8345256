import { z } from 'zod';

/**
 * Input of the `onCallEvent` subscription. There is deliberately no tenant field: the tenant
 * comes from the request's context, and unknown keys (a forged `tenantId`) are dropped.
 */
export const onCallEventInputSchema = z
  .object({
    /** Only events of this call (the provider's call id). */
    callId: z.string().min(1).max(256).optional(),
    /** Only these event types; an entry ending in `.*` matches a prefix (`call.*`). */
    types: z.array(z.string().min(1).max(64)).min(1).max(50).optional(),
    /**
     * Resume after this cursor (a previous message's tracked `id`). `httpSubscriptionLink` sets
     * it by itself when it reconnects; pass it yourself to resume a stream after a page reload.
     */
    lastEventId: z
      .string()
      .min(1)
      .max(512)
      // A cursor never holds one, and an SSE id cannot (a line break would end it).
      .regex(/^\P{Cc}+$/u, 'must not contain control characters')
      .optional(),
  })
  .optional();

/** Input of the `onCallEvent` subscription (what the client passes). */
export type OnCallEventInput = z.input<typeof onCallEventInputSchema>;
