import type { CallEvent } from '@calltrack/core';
import { formatBusCursor } from './bus-cursor';

/** One message of a tenant's stream on Redis, live (pub/sub) or from history. */
export interface RedisStreamMessage {
  epoch: string;
  seq: number;
  /** The cursor's verifier (the entry's publish time, base 36); undefined when it has none. */
  verifier?: string | undefined;
  cursor: string;
  /** The event, or undefined when the message could not be read (`error` says why). */
  event: CallEvent | undefined;
  error?: Error;
}

/**
 * Reads the JSON of an event the publish script wrote. Only the bus writes to its keys and
 * channels, and it validated every event before, so the full schema is not checked again; what
 * is checked is what a stray write (a raw PUBLISH, a bug) could break downstream: that it is
 * an object with string `id` and `type`, of the expected tenant.
 */
export function readStreamEvent(json: string, tenantId: string | undefined): CallEvent | Error {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return new Error('not JSON', { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new Error('not an event object');
  }
  const { id, type, tenantId: eventTenant } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof type !== 'string' || typeof eventTenant !== 'string') {
    return new Error('not an event: id, type and tenantId must be strings');
  }
  if (tenantId !== undefined && eventTenant !== tenantId) {
    return new Error(
      `an event of tenant ${JSON.stringify(eventTenant)} on another tenant's stream`,
    );
  }
  return value as CallEvent;
}

/** What a live message held. */
export interface RedisLiveMessages {
  /** The events, in order; one whose JSON could not be read has `event: undefined`. */
  messages: RedisStreamMessage[];
  /** True when something (all of it, or the end) was not even a cursor: reported, skipped. */
  unreadable: boolean;
}

/** The live message format this version writes (the `v<version>` of its header line). */
export const redisLiveMessageVersion = 1;

/**
 * Parses a live message. It starts with a header line `v<version> <epoch> <first seq>` (fields
 * after these three are a later version's, and ignored). Version 1 goes on with lines
 * `<epoch>:<seq>.<verifier>` and `<event JSON>`, repeated (one publish script call publishes
 * its batch as one message; JSON text never holds a raw line break); parsing stops at the first
 * line that is not a cursor. A message of a later version, or a version 1 message with no
 * readable pair after its header, is one unreadable message at its first seq, which its
 * subscribers then read from history. A message without a header (the
 * format before headers: the pairs alone, `<epoch>:<seq>` in an earlier one) is read as pairs.
 */
export function parseRedisLiveMessage(
  raw: string,
  tenantId: string | undefined,
): RedisLiveMessages {
  if (raw.charCodeAt(0) !== 118 /* v */) return parsePairs(raw, 0, tenantId);
  let end = raw.indexOf('\n');
  if (end < 0) end = raw.length;
  // The header's own fields are short; a longer line is not one (and is not scanned further).
  const header = end > 200 ? [] : raw.slice(0, end).split(' ');
  const version = header[0] === undefined ? undefined : parseSeq(header[0], 1, header[0].length);
  const epoch = header[1];
  const first = header[2] === undefined ? undefined : parseSeq(header[2], 0, header[2].length);
  if (version === undefined || !epoch || epoch.includes(':') || first === undefined) {
    return { messages: [], unreadable: true };
  }
  if (version !== redisLiveMessageVersion) {
    return unreadableAt(epoch, first, new Error(`a later version's format (v${version})`));
  }
  const parsed = parsePairs(raw, end + 1, tenantId);
  // Nothing readable after a good header: the header still says where the batch starts, so it
  // is read from history (also by an all-tenants subscription that had not heard of the tenant).
  return parsed.messages.length === 0
    ? unreadableAt(epoch, first, new Error('no cursor after the header'))
    : parsed;
}

/** One message that could not be read, at the position a header names. */
function unreadableAt(epoch: string, seq: number, error: Error): RedisLiveMessages {
  const cursor = formatBusCursor(epoch, seq);
  return { messages: [{ epoch, seq, cursor, event: undefined, error }], unreadable: false };
}

/** Reads lines of cursor and event JSON from `start` on. */
function parsePairs(raw: string, from: number, tenantId: string | undefined): RedisLiveMessages {
  const messages: RedisStreamMessage[] = [];
  let start = from;
  while (start < raw.length) {
    const newline = raw.indexOf('\n', start);
    if (newline <= start || newline - start > 80) return { messages, unreadable: true };
    const colon = raw.lastIndexOf(':', newline);
    if (colon <= start) return { messages, unreadable: true };
    let dot = colon + 1; // where the seq ends: at the verifier's dot, or the line's end
    while (dot < newline && raw.charCodeAt(dot) !== 46) dot += 1;
    const seq = parseSeq(raw, colon + 1, dot);
    if (seq === undefined) return { messages, unreadable: true };
    const verifier = dot < newline ? parseVerifier(raw, dot + 1, newline) : undefined;
    if (dot < newline && verifier === undefined) return { messages, unreadable: true };
    let end = raw.indexOf('\n', newline + 1);
    if (end < 0) end = raw.length;
    const cursor = raw.slice(start, newline);
    const epoch = raw.slice(start, colon);
    const event = readStreamEvent(raw.slice(newline + 1, end), tenantId);
    messages.push(
      event instanceof Error
        ? { epoch, seq, verifier, cursor, event: undefined, error: event }
        : { epoch, seq, verifier, cursor, event },
    );
    start = end + 1;
  }
  return { messages, unreadable: false };
}

/** Reads a verifier in `text[start, end)`: 1 to 11 base-36 digits (lower case). */
function parseVerifier(text: string, start: number, end: number): string | undefined {
  if (end <= start || end - start > 11) return undefined;
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 122))) return undefined;
  }
  return text.slice(start, end);
}

/** Reads decimal digits in `text[start, end)` (1 to 15 of them), without a regex or a copy. */
function parseSeq(text: string, start: number, end: number): number | undefined {
  if (end <= start || end - start > 15) return undefined;
  let value = 0;
  for (let index = start; index < end; index += 1) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return value;
}
