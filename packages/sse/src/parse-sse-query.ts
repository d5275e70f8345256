import { InvalidArgumentError } from '@calltrack/core';
import type { SseQuery } from './sse-query';

/** Limits of {@link parseSseQuery}. */
export interface ParseSseQueryOptions {
  /** Most `callId` values one stream may filter on. Default 100. */
  maxFollowedCalls?: number;
}

const maxTypes = 50;
const maxValueLength = 256;
const typePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const prefixPattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/;
const singleValued = ['branchId', 'lastEventId'] as const;

/**
 * Reads a stream's filters from its URL query and the `Last-Event-ID` header:
 *
 * - `callId=<id>` (repeat it for several calls): only those calls' events;
 * - `types=call.answered,call.ended` and/or `type=call.ringing` (repeatable); `call.*` matches a
 *   prefix: only those event types;
 * - `branchId=<id>`: only that branch's events and calls;
 * - `lastEventId=<cursor>`: resume after that cursor, for clients that cannot send the
 *   `Last-Event-ID` header; the header wins when both are present (after a reconnect it is the
 *   newer one).
 *
 * `lastEventIdHeader` is the header's value, or its values one by one where the server keeps
 * them apart (Node's `rawHeaders`): more than one is refused, as a repeated `lastEventId` is.
 *
 * Unknown parameters are ignored, so an app can carry its own (an access token, a cache buster)
 * for `authenticate`. Throws `InvalidArgumentError` (400) for an empty, overlong or malformed
 * value, a repeated `branchId`, `lastEventId` or `Last-Event-ID`, too many filters, and for
 * `tenantId` and `allTenants`: whose events a stream carries comes from the credentials, never
 * from the query.
 */
export function parseSseQuery(
  params: URLSearchParams,
  lastEventIdHeader: string | readonly string[] | null | undefined,
  options: ParseSseQueryOptions = {},
): SseQuery {
  const maxFollowedCalls = options.maxFollowedCalls ?? 100;
  const callIds = new Set<string>();
  const types = new Set<string>();
  const single: Partial<Record<(typeof singleValued)[number], string>> = {};

  for (const [name, value] of params) {
    if (name === 'tenantId' || name === 'allTenants') {
      throw new InvalidArgumentError({
        message: `${name} is not a query parameter: whose events you get comes from your credentials.`,
      });
    }
    if (name === 'callId') {
      callIds.add(checkValue(name, value));
      if (callIds.size > maxFollowedCalls) {
        throw new InvalidArgumentError({
          message: `At most ${maxFollowedCalls} callId filters per stream.`,
        });
      }
    } else if (name === 'types' || name === 'type') {
      for (const type of value.split(',')) {
        const trimmed = type.trim();
        if (!typePattern.test(trimmed) && !prefixPattern.test(trimmed)) {
          throw new InvalidArgumentError({
            message: `"${name}" holds ${JSON.stringify(trimmed.slice(0, 64))}, not an event type (e.g. call.ended) or a prefix (call.*).`,
          });
        }
        types.add(trimmed);
      }
      if (types.size > maxTypes) {
        throw new InvalidArgumentError({ message: `At most ${maxTypes} event types per stream.` });
      }
    } else if (name === 'branchId' || name === 'lastEventId') {
      if (single[name] !== undefined) {
        throw new InvalidArgumentError({ message: `"${name}" was given twice.` });
      }
      single[name] = checkValue(name, value);
    }
  }

  let lastEventId = single.lastEventId;
  let header = lastEventIdHeader;
  if (Array.isArray(header)) {
    if (header.length > 1) {
      throw new InvalidArgumentError({ message: '"Last-Event-ID" was given twice.' });
    }
    header = header[0];
  }
  if (typeof header === 'string' && header !== '') {
    lastEventId = checkValue('Last-Event-ID', header);
  }
  return {
    callIds: [...callIds],
    types: [...types],
    ...(single.branchId === undefined ? {} : { branchId: single.branchId }),
    ...(lastEventId === undefined ? {} : { lastEventId }),
  };
}

function checkValue(name: string, value: string): string {
  if (value === '') throw new InvalidArgumentError({ message: `"${name}" is empty.` });
  if (value.length > maxValueLength) {
    throw new InvalidArgumentError({
      message: `"${name}" is longer than ${maxValueLength} characters.`,
    });
  }
  if (controlCharacters.test(value)) {
    throw new InvalidArgumentError({ message: `"${name}" contains control characters.` });
  }
  return value;
}
