import { z } from 'zod';
import { callDirections } from './call-direction';
import type { CallEvent } from './call-event-schema';
import { callEventLimits } from './call-event-schema';
import { callEventTypePattern } from './call-event-type';
import { callStatuses, isTerminalStatus } from './call-status';
import { checkJsonLimits } from './check-json-limits';
import { isKeyText } from './is-key-text';
import { tenantIdPattern } from './tenant-id-schema';

// The common case of `callEventSchema.safeParse`, written out: zod spends ≈ 2.5 µs on the
// fourteen top-level fields of an event that every unsealed publish validates, this ≈ 0.3 µs.
// It answers only when sure. Anything it does not handle with certainty (a field of the wrong
// type, `data.analysis`, `data.cost` or `data.call`, which are objects zod copies) is left to
// the schema, which also writes the error messages. What it returns is what the schema would:
// the schema's keys in the schema's order when present in the input (even as `undefined`), the
// known `data` keys first and the others after them as given; `raw` as given. A property test
// holds it to the schema on generated events, valid and not.

const isoDateTime = z.regexes.datetime({ offset: true, local: false, precision: null });
const statuses = new Set<string>(callStatuses);
const directions = new Set<string>(callDirections);

/** Only plain objects: `in` then means "own", as the schema reads them. */
const isPlainObject = (value: unknown): value is object => {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};
/** `z.string().min(1).max(max)`. */
const isShortString = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= max;
const isOptional = (value: unknown, check: (value: unknown) => boolean): boolean =>
  value === undefined || check(value);
const isShort = (value: unknown) => isShortString(value, 256);
/** The schema's `keyString`: a short string without control characters or lone surrogates. */
const isKey = (value: unknown) => isShortString(value, 256) && isKeyText(value);
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isString = (value: unknown) => typeof value === 'string';

/** `data`'s typed fields that take a primitive, each with its check. */
const dataChecks: ReadonlyArray<readonly [string, (value: unknown) => boolean]> = [
  ['durationMs', isCount],
  ['recordingUrl', (value) => typeof value === 'string' && value.length >= 1],
  ['recordingDurationMs', isCount],
  ['answeredBy', isString],
  ['transcript', isString],
  ['disconnectionReason', isString],
  ['reason', isString],
  ['rawOmitted', isString],
];
const objectDataKeys = ['analysis', 'cost', 'call'];
const knownDataKeys = new Set([...dataChecks.map(([key]) => key), ...objectDataKeys]);

/**
 * The event `callEventSchema` would return for `value`, or undefined: ask the schema.
 * `freeFormWithinLimits`: `data` and `raw` are copies `copyJsonValue` made within
 * `callEventLimits` (as `sealCallEvent` makes them), so their limits are not checked again.
 */
export function fastParseCallEvent(
  value: unknown,
  freeFormWithinLimits = false,
): CallEvent | undefined {
  if (!isPlainObject(value)) return undefined;
  const input = value as Record<string, unknown>;
  const { type, tenantId, data, status } = input;
  if (
    !isKey(input.id) ||
    typeof type !== 'string' ||
    type.length > 64 ||
    !callEventTypePattern.test(type) ||
    !isShortString(tenantId, 128) ||
    !tenantIdPattern.test(tenantId) ||
    !isOptional(input.branchId, isKey) ||
    !isOptional(input.agentId, isKey) ||
    !isOptional(input.userId, isKey) ||
    !(isShortString(input.provider, 64) && isKeyText(input.provider)) ||
    !isOptional(input.callId, isKey) ||
    !isOptional(input.direction, (direction) => directions.has(direction as string)) ||
    !isOptional(input.from, isShort) ||
    !isOptional(input.to, isShort) ||
    !isOptional(status, (value) => statuses.has(value as string)) ||
    typeof input.occurredAt !== 'string' ||
    !isoDateTime.test(input.occurredAt) ||
    typeof input.receivedAt !== 'string' ||
    !isoDateTime.test(input.receivedAt) ||
    !isOptional(input.sequence, isCount) ||
    // The schema's refinements: a call event names its call; call.ended ends in a terminal status.
    (input.callId === undefined && type.startsWith('call.')) ||
    (type === 'call.ended' && status !== undefined && !isTerminalStatus(status as string))
  ) {
    return undefined;
  }
  if (!isPlainObject(data)) return undefined;
  const dataInput = data as Record<string, unknown>;
  const parsedData: Record<string, unknown> = {};
  for (const [key, check] of dataChecks) {
    if (!(key in dataInput)) continue;
    const field = dataInput[key];
    if (!isOptional(field, check)) return undefined;
    parsedData[key] = field;
  }
  for (const key of objectDataKeys) if (key in dataInput) return undefined;
  for (const key in dataInput) {
    if (!Object.hasOwn(dataInput, key)) continue;
    if (key === '__proto__') return undefined; // an own "__proto__" (JSON.parse makes them)
    if (!knownDataKeys.has(key)) parsedData[key] = dataInput[key];
  }
  if (
    !freeFormWithinLimits &&
    (checkJsonLimits(parsedData, callEventLimits.data) !== undefined ||
      checkJsonLimits(input.raw, callEventLimits.raw) !== undefined)
  ) {
    return undefined;
  }
  // Written out rather than looped over the keys: named stores keep the object's shape fast.
  const event: Record<string, unknown> = { id: input.id, type, tenantId };
  if ('branchId' in input) event.branchId = input.branchId;
  if ('agentId' in input) event.agentId = input.agentId;
  if ('userId' in input) event.userId = input.userId;
  event.provider = input.provider;
  if ('callId' in input) event.callId = input.callId;
  if ('direction' in input) event.direction = input.direction;
  if ('from' in input) event.from = input.from;
  if ('to' in input) event.to = input.to;
  if ('status' in input) event.status = status;
  event.occurredAt = input.occurredAt;
  event.receivedAt = input.receivedAt;
  if ('sequence' in input) event.sequence = input.sequence;
  event.data = parsedData;
  if ('raw' in input) event.raw = input.raw;
  return event as CallEvent;
}
