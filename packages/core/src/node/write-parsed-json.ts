import { checkJsonLimits } from '../check-json-limits';
import { InvalidPayloadError } from '../errors/invalid-payload-error';
import { PayloadTooLargeError } from '../errors/payload-too-large-error';

/**
 * The deepest parsed body written again. `JSON.stringify` recurses: a few thousand levels (fewer
 * on a deeper stack) throw a RangeError. No calltrack API takes a body anywhere near this deep.
 */
const maxDepth = 1000;

const encoder = new TextEncoder();

/**
 * A JSON value a body parser made (`express.json()`), written again as UTF-8 for a handler that
 * reads at most `maxBytes`. What cannot be written is a client error, never a 500: a body longer
 * than `maxBytes` (a cycle is endless) is the `PayloadTooLargeError` (413) the handler gives
 * without the parser, even when it is also too deep for `JSON.stringify` (measured without
 * recursion first); one nested deeper than 1,000 levels within the limit, a BigInt, or a number
 * JSON cannot carry (`1e400` parses to Infinity, which `JSON.stringify` would write as `null`,
 * an absent value to the handler) is an `InvalidPayloadError` (400).
 * @internal
 */
export function writeParsedJson(value: unknown, maxBytes: number): Uint8Array {
  try {
    return encoder.encode(writeChecked(value, maxBytes));
  } catch (error) {
    if (InvalidPayloadError.isInstance(error) || PayloadTooLargeError.isInstance(error)) {
      throw error;
    }
    // A getter that throws, a stack already too deep for the levels left: still the body's.
    throw new InvalidPayloadError({
      message: 'The JSON body a body parser read cannot be written as JSON again.',
      cause: error,
    });
  }
}

function writeChecked(value: unknown, maxBytes: number): string {
  const violation = checkJsonLimits(value, { maxDepth, maxLength: maxBytes });
  if (
    violation?.reason === 'length' ||
    (violation?.reason === 'depth' && tooLong(value, maxBytes))
  ) {
    throw new PayloadTooLargeError({
      message: `The request body is larger than the limit of ${maxBytes} bytes.`,
    });
  }
  if (violation?.reason === 'depth') {
    throw new InvalidPayloadError({
      message: `The JSON body is nested deeper than ${maxDepth} levels.`,
    });
  }
  if (violation !== undefined) {
    throw new InvalidPayloadError({
      message: `The JSON body a body parser read cannot be written as JSON again: a value ${violation.message}.`,
    });
  }
  return JSON.stringify(value, refuseNonFiniteNumbers);
}

/**
 * True when `value` as JSON is longer than `maxBytes` (each level takes two characters at least,
 * so the walk ends within `maxBytes / 2` levels, cycles included). A character takes one byte of
 * UTF-8 at least, so longer in characters is longer in bytes.
 */
function tooLong(value: unknown, maxBytes: number): boolean {
  if (!Number.isFinite(maxBytes)) return false;
  const violation = checkJsonLimits(value, {
    maxDepth: Number.POSITIVE_INFINITY,
    maxLength: maxBytes,
  });
  return violation?.reason === 'length';
}

function refuseNonFiniteNumbers(_key: string, value: unknown): unknown {
  const number = value instanceof Number ? value.valueOf() : value;
  if (typeof number === 'number' && !Number.isFinite(number)) {
    throw new InvalidPayloadError({
      message:
        'The JSON body holds a number JSON cannot carry: one out of range (such as 1e400) is ' +
        'read as Infinity.',
    });
  }
  return value;
}
