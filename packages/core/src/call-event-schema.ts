import { z } from 'zod';
import { callDirectionSchema } from './call-direction';
import { callEventTypePattern } from './call-event-type';
import { callSnapshotSchema } from './call-snapshot';
import { callStatusSchema, isTerminalStatus } from './call-status';
import { checkJsonLimits, type JsonLimits } from './check-json-limits';
import { isKeyText } from './is-key-text';
import { tenantIdSchema } from './tenant-id-schema';

const shortString = z.string().min(1).max(256);
const keyTextMessage =
  'must not contain a control character or a lone surrogate (half of a UTF-16 pair)';
/** An id that becomes part of a Redis key or member (the bus's, the tracker's, presence's). */
const keyString = shortString.refine(isKeyText, keyTextMessage);
const isoDateTime = z.iso.datetime({ offset: true });

/**
 * What an event carries beyond the common fields. The named fields are typed; any other field
 * passes through untouched, so providers can add what they know.
 */
export const callEventDataSchema = z.looseObject({
  /** Talk time in milliseconds. */
  durationMs: z.number().int().nonnegative().optional(),
  /** Where the recording can be fetched. */
  recordingUrl: z.string().min(1).optional(),
  /** Length of the recording in milliseconds. */
  recordingDurationMs: z.number().int().nonnegative().optional(),
  /** Answering-machine detection result, e.g. `human`, `machine_start`, `fax`, `unknown`. */
  answeredBy: z.string().optional(),
  /** Transcript text, as far as it is known. */
  transcript: z.string().optional(),
  /** Post-call analysis as the provider reports it. */
  analysis: z.record(z.string(), z.unknown()).optional(),
  /** What the call cost. */
  cost: z.object({ amount: z.number(), currency: z.string().min(1).max(8) }).optional(),
  /** The provider's reason for the call ending, e.g. `user_hangup`. */
  disconnectionReason: z.string().optional(),
  /** Why calltrack itself produced the event, e.g. `stale` for a reaped call. */
  reason: z.string().optional(),
  /**
   * Why `raw` is missing although the handler was asked to include it: the provider's payload
   * was over `callEventLimits.raw`, `length` (longer than 2 MiB as JSON) or `depth` (nested
   * deeper than 32 levels), or `unserializable` (JSON cannot hold it).
   */
  rawOmitted: z.string().optional(),
  /** The tracker's view of the call after this event; set on every event the tracker fans out. */
  call: callSnapshotSchema.optional(),
});

/**
 * How deep and how long (as JSON) an event's free-form parts may be. An event over them is
 * refused by {@link callEventSchema} (so by every bus's `publish`), because every transport
 * writes events as JSON and a value nested thousands of levels deep cannot be written.
 */
export const callEventLimits: { readonly data: JsonLimits; readonly raw: JsonLimits } = {
  /** `data`: 32 levels, 1 MiB of JSON text. */
  data: { maxDepth: 32, maxLength: 1024 * 1024 },
  /** `raw`, the provider's payload when kept: 32 levels, 2 MiB (Retell's body limit). */
  raw: { maxDepth: 32, maxLength: 2 * 1024 * 1024 },
};

/**
 * The zod schema of a {@link CallEvent}: the one event shape every package speaks.
 * Lenient about extra fields in `data`, strict about the common fields.
 */
export const callEventSchema = z
  .object({
    /** Deterministic from the provider payload, so a retried webhook yields the same id. */
    id: keyString,
    /** Dot-separated type, e.g. `call.answered`; see `callEventTypes`. */
    type: z.string().max(64).regex(callEventTypePattern, 'must look like "noun.action"'),
    tenantId: tenantIdSchema,
    branchId: keyString.optional(),
    agentId: keyString.optional(),
    userId: keyString.optional(),
    /** Which provider the event came from, e.g. `twilio`, `retell`, `callerdesk`, `calltrack`. */
    provider: z.string().min(1).max(64).refine(isKeyText, keyTextMessage),
    /** The provider's call id. Required for `call.*` events. */
    callId: keyString.optional(),
    direction: callDirectionSchema.optional(),
    /** Caller, E.164 where derivable (`+14155550100`); otherwise as the provider sent it. */
    from: shortString.optional(),
    /** Callee, E.164 where derivable. */
    to: shortString.optional(),
    status: callStatusSchema.optional(),
    /** When it happened, by the provider's clock (ISO 8601). */
    occurredAt: isoDateTime,
    /** When calltrack received it (ISO 8601). */
    receivedAt: isoDateTime,
    /** The provider's sequence number, where it sends one; orders events of one call. */
    sequence: z.number().int().nonnegative().optional(),
    data: callEventDataSchema,
    /** The provider's original payload; present only when the user opts in (personal data). */
    raw: z.unknown().optional(),
  })
  .superRefine((event, context) => {
    for (const field of ['data', 'raw'] as const) {
      const violation = checkJsonLimits(event[field], callEventLimits[field]);
      if (violation) {
        context.addIssue({
          code: 'custom',
          path: [field, ...violation.path],
          message: violation.message,
        });
      }
    }
    if (event.type.startsWith('call.') && event.callId === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['callId'],
        message: 'is required for call.* events',
      });
    }
    if (
      event.type === 'call.ended' &&
      event.status !== undefined &&
      !isTerminalStatus(event.status)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['status'],
        message:
          'must be a terminal status (completed, busy, no-answer, failed, canceled) on call.ended',
      });
    }
  });

/** A normalized call event, as validated by {@link callEventSchema}. */
export type CallEvent = z.infer<typeof callEventSchema>;

/** The `data` of a {@link CallEvent}. */
export type CallEventData = z.infer<typeof callEventDataSchema>;
