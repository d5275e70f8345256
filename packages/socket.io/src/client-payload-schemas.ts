import { callEventTypePattern, tenantIdSchema } from '@calltrack/core';
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

/**
 * `subscribe_to_call` / `unsubscribe_from_call` payload. `tenantId` picks the call's tenant for an
 * all-tenants principal; a tenant principal may only name its own.
 */
export const callSubscriptionSchema = z.object({
  callId: z.string().min(1).max(256),
  tenantId: tenantIdSchema.optional(),
});

/**
 * The calltrack fields of `socket.handshake.auth` (everything else is the app's): what to resume
 * on connect. `calls` holds at most `maxCalls` entries.
 */
export function handshakeResumeSchema(maxCalls: number) {
  return z.object({
    lastCursor: cursorSchema.optional(),
    types: typesSchema.optional(),
    stream: z.boolean().optional(),
    calls: z.array(callSubscriptionSchema).max(maxCalls).optional(),
  });
}

/** What a client asked to resume in its handshake. */
export type HandshakeResume = z.infer<ReturnType<typeof handshakeResumeSchema>>;

/** Formats zod issues as one readable line: `types.0: must be …; after: …`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) =>
      issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`,
    )
    .join('; ');
}
