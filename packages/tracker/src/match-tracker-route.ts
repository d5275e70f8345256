import { InvalidArgumentError } from '@calltrack/core';
import { decodeCallIdPathSegment } from '@calltrack/core/internal';

/**
 * The API's routes: the method each takes, and its query parameters (besides `tenantId`).
 * `place` and `terminate` are the call-control routes, there only with `callControl`.
 */
export const trackerRoutes = {
  list: { method: 'GET', query: ['branchId', 'limit', 'afterCallId', 'afterStartedAt'] },
  count: { method: 'GET', query: [] },
  recent: { method: 'GET', query: ['branchId', 'limit'] },
  call: { method: 'GET', query: [] },
  analytics: { method: 'GET', query: ['from', 'to', 'granularity'] },
  place: { method: 'POST', query: [] },
  terminate: { method: 'POST', query: [] },
} as const;

/** A route of the read API, by name. */
export type TrackerRouteName = keyof typeof trackerRoutes;

/** A matched route; `call` and `terminate` carry the decoded call id from the path. */
export type TrackerRoute =
  | { name: Exclude<TrackerRouteName, 'call' | 'terminate'> }
  | { name: 'call' | 'terminate'; callId: string };

/** `basePath` as given to the handler: '' for the root, else '/x' without a trailing slash. */
export function normalizeBasePath(basePath: string | undefined): string {
  if (basePath === undefined || basePath === '' || basePath === '/') return '';
  if (typeof basePath !== 'string' || !basePath.startsWith('/')) {
    throw new InvalidArgumentError({ message: 'basePath must start with "/", e.g. "/api".' });
  }
  return basePath.replace(/\/+$/, '');
}

/**
 * The route a path names under `basePath` (a trailing slash is ignored), or undefined.
 * Throws `InvalidArgumentError` for a call id that is not valid URL encoding.
 */
export function matchTrackerRoute(pathname: string, basePath: string): TrackerRoute | undefined {
  if (!pathname.startsWith(`${basePath}/`)) return undefined;
  const path = pathname.slice(basePath.length).replace(/\/$/, '');
  if (path === '/calls/active') return { name: 'list' };
  if (path === '/calls/active/count') return { name: 'count' };
  if (path === '/calls/recent') return { name: 'recent' };
  if (path === '/calls/analytics') return { name: 'analytics' };
  if (path === '/calls') return { name: 'place' };
  const read = /^\/calls\/active\/([^/]+)$/.exec(path);
  if (read) return { name: 'call', callId: decodeCallId(read[1]!) };
  const terminate = /^\/calls\/([^/]+)\/terminate$/.exec(path);
  if (terminate) return { name: 'terminate', callId: decodeCallId(terminate[1]!) };
  return undefined;
}

/** A call id as `callIdPathSegment` (core) writes it: percent-encoded, `.` and `..` after a NUL. */
function decodeCallId(segment: string): string {
  try {
    return decodeCallIdPathSegment(segment);
  } catch {
    throw new InvalidArgumentError({
      message: 'The call id in the path is not valid URL encoding.',
    });
  }
}
