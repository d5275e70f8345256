import { type CallEvent, callEventSchema } from './call-event-schema';
import { InvalidEventError } from './errors/invalid-event-error';

/**
 * Validates `value` as a {@link CallEvent} and returns it (extra top-level fields are dropped).
 * Throws {@link InvalidEventError} naming the first offending field.
 */
export function parseCallEvent(value: unknown): CallEvent {
  const result = callEventSchema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidEventError({
    issues: result.error.issues.map((issue) => ({
      field: issue.path.map(String).join('.'),
      message: issue.message,
    })),
    cause: result.error,
  });
}
