import {
  checkJsonLimits,
  InvalidArgumentError,
  PayloadTooLargeError,
  tenantIdSchema,
} from '@calltrack/core';

// No lone surrogates (\p{Cs}): they have no UTF-8 form, so two different ids would share a key.
const printable = /^[^\p{Cc}\p{Cs}]+$/u;
const compact = /^[^\s\p{Cc}\p{Cs}]+$/u;
const messageIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
/** How deep connection data and messages may nest (they travel inside `data.presence`). */
const maxDepth = 16;

/** Refuses a malformed tenant id (see core's `tenantIdSchema`). */
export function checkTenantId(tenantId: unknown): asserts tenantId is string {
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({
      message: `Invalid tenantId ${describe(tenantId)}: 1 to 128 characters, no whitespace, control characters, "{" or "}".`,
    });
  }
}

/** Refuses an empty, oversized (over 256), control-character or lone-surrogate user id. */
export function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length > 256 || !printable.test(userId)) {
    throw new InvalidArgumentError({
      message: `Invalid userId ${describe(userId)}: 1 to 256 characters, no control characters.`,
    });
  }
}

/** Refuses an empty, oversized (over 128) or whitespace connection id. */
export function checkConnectionId(connectionId: unknown): asserts connectionId is string {
  if (
    typeof connectionId !== 'string' ||
    connectionId.length > 128 ||
    !compact.test(connectionId)
  ) {
    throw new InvalidArgumentError({
      message: `Invalid connectionId ${describe(connectionId)}: 1 to 128 characters, no whitespace or control characters.`,
    });
  }
}

/** Refuses an empty, oversized (over 64) or control-character state. */
export function checkState(state: unknown): asserts state is string {
  if (typeof state !== 'string' || state.length > 64 || !printable.test(state)) {
    throw new InvalidArgumentError({
      message: `Invalid state ${describe(state)}: 1 to 64 characters, no control characters.`,
    });
  }
}

/** Refuses a message id outside `[A-Za-z0-9._-]{1,64}`. */
export function checkMessageId(messageId: unknown): asserts messageId is string {
  if (typeof messageId !== 'string' || !messageIdPattern.test(messageId)) {
    throw new InvalidArgumentError({
      message: `Invalid messageId ${describe(messageId)}: 1 to 64 letters, digits, ".", "_" or "-".`,
    });
  }
}

/**
 * The JSON text of `value` (connection data, a message), refused when it is longer than
 * `maxLength` characters (`PayloadTooLargeError`), nested deeper than 16 levels or not JSON at
 * all (`InvalidArgumentError`). `undefined` stays undefined.
 */
export function toBoundedJson(value: unknown, maxLength: number, what: string): string | undefined {
  if (value === undefined) return undefined;
  const tooLarge = () =>
    new PayloadTooLargeError({
      message: `${what} is longer than ${maxLength} characters as JSON.`,
    });
  const violation = checkJsonLimits(value, { maxDepth, maxLength });
  if (violation?.reason === 'length') throw tooLarge();
  if (violation) {
    const where = violation.path.length > 0 ? ` (at ${violation.path.join('.')})` : '';
    throw new InvalidArgumentError({ message: `${what} ${violation.message}${where}.` });
  }
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new InvalidArgumentError({ message: `${what} is not a JSON value.` });
  }
  // The walk above counts a string's characters, not its escapes (a control character is six
  // characters of JSON): the text itself is what must fit.
  if (json.length > maxLength) throw tooLarge();
  return json;
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `(${value === null ? 'null' : typeof value})`;
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
