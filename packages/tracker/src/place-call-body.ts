import {
  InvalidArgumentError,
  InvalidPayloadError,
  readRequestText,
  UnsupportedMediaTypeError,
} from '@calltrack/core';
import { findRepeatedJsonKey } from '@calltrack/core/internal';
import { requestMediaType } from './request-media-type';

/** The largest `POST /calls` body read, in bytes. */
const maxBodyBytes = 8 * 1024;

/** Separators people type in phone numbers; they are dropped before the E.164 check. */
const separators = /[\s().-]/g;
const e164 = /^\+[1-9]\d{6,14}$/;
const providerName = /^[a-z][a-z0-9_-]{0,63}$/;
const requestIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const fields = new Set(['provider', 'to', 'from', 'agentNumber', 'requestId']);

/** The body of `POST /calls`, checked: phone numbers in E.164, without separators. */
export interface PlaceCallBody {
  provider: string;
  to: string;
  from?: string;
  agentNumber?: string;
  requestId: string;
}

/**
 * Reads and checks the body of `POST /calls`: 415 unless JSON, 413 over 8 KiB (from the declared
 * length before reading), 400 for a body that is not a JSON object, and 400 naming the first
 * field that is unknown, missing or invalid. @internal
 */
export async function readPlaceCallBody(request: Request): Promise<PlaceCallBody> {
  if (requestMediaType(request) !== 'application/json') {
    throw new UnsupportedMediaTypeError({ message: 'POST /calls takes application/json.' });
  }
  const text = await readRequestText(request, { maxBytes: maxBodyBytes });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidPayloadError({ message: 'The body is not valid JSON.', cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidPayloadError({ message: 'The body must be a JSON object.' });
  }
  // A key given twice is ambiguous, as a query parameter given twice is: JSON.parse keeps the
  // last, a proxy or a log may read the first (which number was called?). (Behind
  // express.json() the parser already kept one: the text here is its value written again.)
  const repeated = findRepeatedJsonKey(text);
  if (repeated !== undefined) {
    throw new InvalidPayloadError({
      message: `The body gives ${JSON.stringify(repeated.key.slice(0, 64))} twice in one object: give each key once.`,
    });
  }
  const body = json as Record<string, unknown>;
  for (const name of Object.keys(body)) {
    if (!fields.has(name)) throw invalid(`Unknown field "${name.slice(0, 64)}".`);
  }
  const readText = (name: string, required: boolean): string | undefined => {
    const value = body[name];
    if (value === undefined || value === null) {
      if (required) throw invalid(`"${name}" is required.`);
      return undefined;
    }
    if (typeof value !== 'string') throw invalid(`"${name}" must be a string.`);
    return value;
  };
  const phone = (name: string, required: boolean): string | undefined => {
    const value = readText(name, required);
    if (value === undefined) return undefined;
    const number = value.length <= 64 ? value.replace(separators, '') : value;
    if (!e164.test(number)) {
      throw invalid(`"${name}" must be an E.164 phone number: + and 7 to 15 digits.`);
    }
    return number;
  };
  const provider = readText('provider', true)!;
  if (!providerName.test(provider)) {
    throw invalid('"provider" must be a provider name such as "twilio".');
  }
  const to = phone('to', true)!;
  const from = phone('from', false);
  const agentNumber = phone('agentNumber', false);
  const requestId = readText('requestId', true)!;
  if (!requestIdPattern.test(requestId)) {
    throw invalid(
      '"requestId" must be 1 to 128 letters, digits, ".", "_", ":" or "-" (a UUID fits).',
    );
  }
  return {
    provider,
    to,
    ...(from === undefined ? {} : { from }),
    ...(agentNumber === undefined ? {} : { agentNumber }),
    requestId,
  };
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError({ message });
}
