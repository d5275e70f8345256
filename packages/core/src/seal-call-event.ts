import { type CallEvent, callEventLimits } from './call-event-schema';
import { type CallSnapshot, callSnapshotSchema } from './call-snapshot';
import { checkJsonLimits } from './check-json-limits';
import { copyJsonValue, type JsonValueCopy } from './copy-json-value';
import { InvalidEventError } from './errors/invalid-event-error';
import { fastParseCallEvent } from './fast-parse-call-event';
import { parseCallEvent } from './parse-call-event';

/** Hands back the object it is given, so a subclass's private field lands on that object. */
class ReturnTarget {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point: stamp a private field on `target`.
    return target;
  }
}

/**
 * The mark of an event this module validated and froze: a private field only this class can
 * put on an object (`new SealMark(event)`) or look for. Nothing outside this module can mark an
 * event (it is not a property, nor a `Symbol.for` key), so the mark proves the event passed the
 * schema; being frozen and made only of plain data, it cannot have changed since. A private
 * field rather than a `WeakSet`: looking it up is a property lookup, and it costs the garbage
 * collector nothing (a weak collection's entries do). Another copy of this package has another
 * class: its sealed events are validated again, never trusted by mistake.
 */
class SealMark extends ReturnTarget {
  #sealed = true;

  static has(value: object): boolean {
    return #sealed in value;
  }
}

/**
 * Validates an event once and returns a sealed copy that every calltrack package (the tracker,
 * every bus) takes without validating it again. The provider handlers seal the events they
 * build; seal your own where one event is published more than once, or where you validate
 * anyway. A sealed event is returned as it is.
 *
 * The copy is the event as JSON carries it (`data` and `raw` copied as
 * `JSON.parse(JSON.stringify(…))` would copy them: a `Date` becomes its ISO text, a getter is
 * read once, functions and `undefined` are left out), frozen all the way down, and shares no
 * object with `value`: so it cannot change, or become invalid, after it was checked, and what it
 * holds is what every transport writes. Your own objects are left as they were. Copy a sealed
 * event (`{ ...event, data: { ...event.data } }`) to change it: the copy is a plain event again.
 * Throws `InvalidEventError` like `publish` would.
 */
export function sealCallEvent(value: unknown): CallEvent {
  if (isSealedCallEvent(value)) return value;
  const input = copyFreeFormParts(value);
  let event: CallEvent;
  const raw = typeof input === 'object' && input !== null ? (input as CallEvent).raw : undefined;
  if (isSealedRaw(raw)) {
    // Checked when it was sealed, and frozen since: the schema need not walk it again.
    const { raw: _sealed, ...rest } = input as CallEvent;
    event = parseCopiedEvent(rest);
    event.raw = raw;
  } else {
    event = parseCopiedEvent(input);
  }
  new SealMark(event);
  freezeParsed(event);
  return event;
}

/**
 * `parseCallEvent` for what {@link copyFreeFormParts} made: its `data` and `raw` are copies
 * within `callEventLimits` already, which the schema's common case need not measure again.
 */
function parseCopiedEvent(input: unknown): CallEvent {
  let parsed: CallEvent | undefined;
  try {
    parsed = fastParseCallEvent(input, true);
  } catch {
    // The schema reports it.
  }
  return parsed ?? parseCallEvent(input);
}

/**
 * A provider's payload as `raw` carries it: copied as {@link sealCallEvent} copies `raw`, frozen,
 * and marked, so that sealing the events that carry it (every event of one webhook) neither
 * copies nor walks it again; or why it cannot be `raw`, with the violation the schema reports.
 * @internal For `rawPayloadFields`.
 */
export function sealRawPayload(value: unknown): JsonValueCopy {
  if (isSealedRaw(value)) return { value };
  const copied = copyJsonValue(value, callEventLimits.raw);
  if (copied.violation || typeof copied.value !== 'object' || copied.value === null) return copied;
  // The copy is frozen: its root is made again (its children are shared), marked, then frozen.
  const root = Array.isArray(copied.value) ? [...copied.value] : cloneRecord(copied.value);
  new SealMark(root);
  return { value: Object.freeze(root) };
}

/** True for a `raw` {@link sealRawPayload} made: a frozen copy within `callEventLimits.raw`. */
function isSealedRaw(value: unknown): boolean {
  return typeof value === 'object' && value !== null && SealMark.has(value);
}

/** A shallow copy of a record that keeps a `__proto__` key an own property. */
function cloneRecord(value: object): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    Object.defineProperty(record, key, {
      value: (value as Record<string, unknown>)[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return record;
}

/** True for an event {@link sealCallEvent} (or {@link withCallSnapshot}) returned: valid, and unchangeable since. */
export function isSealedCallEvent(value: unknown): value is CallEvent {
  return typeof value === 'object' && value !== null && SealMark.has(value);
}

/**
 * A sealed event with the tracker's snapshot of its call in `data.call` (replacing one it
 * carried), itself sealed. Only what is new is validated: the snapshot against
 * `callSnapshotSchema`, and the new `data` against `callEventLimits` (depth and length); the
 * rest was validated when `event` was sealed. An event that is not sealed is validated whole.
 * Throws `InvalidEventError` naming the field, like `publish` would.
 */
export function withCallSnapshot(event: CallEvent, call: CallSnapshot): CallEvent {
  if (!SealMark.has(event)) {
    return sealCallEvent({ ...event, data: { ...event.data, call } });
  }
  const copied = copyJsonValue(call, {
    maxDepth: callEventLimits.data.maxDepth - 1,
    maxLength: callEventLimits.data.maxLength,
  });
  if (copied.violation)
    throw invalid(['data', 'call', ...copied.violation.path], copied.violation.message);
  const parsed = callSnapshotSchema.safeParse(copied.value);
  if (!parsed.success) {
    throw new InvalidEventError({
      issues: parsed.error.issues.map((issue) => ({
        field: ['data', 'call', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
      cause: parsed.error,
    });
  }
  const data = { ...event.data, call: parsed.data };
  const violation = checkJsonLimits(data, callEventLimits.data);
  if (violation) throw invalid(['data', ...violation.path], violation.message);
  const sealed: CallEvent = { ...event, data };
  new SealMark(sealed);
  freezeParsed(sealed);
  return sealed;
}

/**
 * `value` with its free-form parts (`data`, `raw`) replaced by frozen JSON copies
 * (`copyJsonValue`), each property of `value` read once; the schema then checks the copy. A
 * value that is not an object is left to the schema to refuse.
 */
function copyFreeFormParts(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  let event: Record<string, unknown>;
  try {
    event = { ...value };
  } catch (error) {
    throw new InvalidEventError({
      issues: [{ field: '', message: 'cannot be read' }],
      cause: error,
    });
  }
  for (const field of ['data', 'raw'] as const) {
    if (event[field] === undefined) continue;
    const copied =
      field === 'raw' ? sealRawPayload(event.raw) : copyJsonValue(event.data, callEventLimits.data);
    if (copied.violation)
      throw invalid([field, ...copied.violation.path], copied.violation.message);
    event[field] = copied.value;
  }
  return event;
}

function invalid(path: (string | number)[], message: string): InvalidEventError {
  return new InvalidEventError({ issues: [{ field: path.join('.'), message }] });
}

/**
 * Freezes what the schema built (the event, its `data`, the objects of typed fields such as
 * `analysis` or `call`). Every other object in it is a copy made and frozen by `copyJsonValue`,
 * so the walk stops at frozen objects.
 */
function freezeParsed(root: object): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop() as object;
    if (Object.isFrozen(value)) continue;
    Object.freeze(value);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
}
