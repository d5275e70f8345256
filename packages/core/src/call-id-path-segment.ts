/**
 * Call ids that are also words of the tracker's routes: `/calls/active/count` counts, and
 * `/calls/active/terminate` reads a call. Written with their first letter percent-encoded, they
 * no longer match the words, and the routes decode them back.
 */
const routeWords = new Set(['count', 'active']);

/**
 * Put before a call id made only of dots: URLs resolve `.` and `..` away as path segments, also
 * percent-encoded (`/calls/active/..` is `/calls/`). No call id holds a control character, so
 * the routes drop a leading NUL and nothing else is read differently.
 */
const dotsEscape = '%00';

/**
 * A call id as one segment of a tracker API path (`/calls/active/:callId`,
 * `/calls/:callId/terminate`), exactly as the tracker's routes read it back: percent-encoded
 * (`encodeURIComponent`), except `count` and `active` (`%63ount`, `%61ctive`: words of the
 * routes) and `.` and `..` (`%00.`, `%00..`: URLs resolve them away).
 *
 * @example
 * await fetch(`${baseUrl}/calls/active/${callIdPathSegment(callId)}`);
 */
export function callIdPathSegment(callId: string): string {
  if (routeWords.has(callId)) {
    return `%${callId.charCodeAt(0).toString(16)}${callId.slice(1)}`;
  }
  if (callId === '.' || callId === '..') return `${dotsEscape}${callId}`;
  return encodeURIComponent(callId);
}

/**
 * The call id a path segment names, the reverse of {@link callIdPathSegment}: percent-decoded,
 * less a leading NUL. Throws `URIError` for a segment that is not valid percent-encoding.
 * Shared with `@calltrack/tracker` (from `@calltrack/core/internal`), whose routes read call ids
 * from paths.
 */
export function decodeCallIdPathSegment(segment: string): string {
  const decoded = decodeURIComponent(segment);
  return decoded.startsWith('\u0000') ? decoded.slice(1) : decoded;
}
