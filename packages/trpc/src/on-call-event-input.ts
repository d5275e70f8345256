import { callEventTypePattern } from '@calltrack/core';
import { z } from 'zod';

/** A prefix filter: an event type's leading segments, then `.*` (`call.*`, `presence.*`). */
const typePrefixPattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*$/;

/**
 * Input of the `onCallEvent` subscription. There is deliberately no tenant field: the tenant
 * comes from the request's context, and unknown keys (a forged `tenantId`) are dropped.
 */
export const onCallEventInputSchema = z
  .object({
    /** Only events of this call (the provider's call id). */
    callId: z.string().min(1).max(256).optional(),
    /**
     * Only these event types; an entry ending in `.*` matches a prefix (`call.*`). Anything else
     * (a typo such as `call.ended `, `Call.Ended`, `*`) is refused, as SSE and Socket.IO refuse
     * it: it would match nothing, and look like a quiet stream.
     */
    types: z
      .array(
        z
          .string()
          .max(64)
          .refine(
            (type) => callEventTypePattern.test(type) || typePrefixPattern.test(type),
            'must be an event type such as "call.ended" or a prefix such as "call.*"',
          ),
      )
      .min(1)
      .max(50)
      .optional(),
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
