import { callEventTypePattern } from '@calltrack/core';
import { z } from 'zod';

const typePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/;

/** A bus cursor as a client sends it back: an opaque, bounded string. */
export const cursorSchema = z.string().min(1).max(256);

/** An event type filter: exact types (`call.ended`) or prefixes (`call.*`), at most 32. */
export const typesSchema = z
  .array(
    z
      .string()
      .max(64)
      .refine(
        (type) =>
          callEventTypePattern.test(type) || (type.endsWith('.*') && typePattern.test(type)),
        'must be an event type such as "call.ended" or a prefix such as "call.*"',
      ),
  )
  .max(32);

/**
 * `subscribe_to_calls` payload. Unknown keys (a `tenantId`, say) are stripped: the tenant always
 * comes from authentication.
 */
export const subscribeToCallsSchema = z
  .object({ after: cursorSchema.optional(), types: typesSchema.optional() })
  .optional();

/** `subscribe_to_call` / `unsubscribe_from_call` payload. */
export const callSubscriptionSchema = z.object({ callId: z.string().min(1).max(256) });

/** The calltrack fields of `socket.handshake.auth` (everything else is the app's). */
export const handshakeResumeSchema = z.object({
  lastCursor: cursorSchema.optional(),
  types: typesSchema.optional(),
});

/** Formats zod issues as one readable line: `types.0: must be …; after: …`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) =>
      issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`,
    )
    .join('; ');
}
