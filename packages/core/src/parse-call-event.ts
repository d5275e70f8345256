import { type CallEvent, callEventSchema } from './call-event-schema';
import { InvalidEventError } from './errors/invalid-event-error';
import { fastParseCallEvent } from './fast-parse-call-event';

/**
 * Validates `value` as a {@link CallEvent} and returns it (extra top-level fields are dropped).
 * Throws {@link InvalidEventError} naming the first offending field.
 */
export function parseCallEvent(value: unknown): CallEvent {
  let parsed: CallEvent | undefined;
  try {
    parsed = fastParseCallEvent(value);
  } catch {
    // A getter or a proxy that throws: the schema reports it.
  }
  if (parsed !== undefined) return parsed;
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
