import { InvalidArgumentError } from '@calltrack/core';

/** The read API's routes and the query parameters each takes (besides `tenantId`). */
export const trackerRoutes = {
  list: { query: ['branchId', 'limit'] },
  count: { query: [] },
  recent: { query: ['branchId', 'limit'] },
  call: { query: [] },
  analytics: { query: ['from', 'to', 'granularity'] },
} as const;

/** A route of the read API, by name. */
export type TrackerRouteName = keyof typeof trackerRoutes;

/** A matched route; `call` carries the decoded call id from the path. */
export type TrackerRoute =
  | { name: Exclude<TrackerRouteName, 'call'> }
  | { name: 'call'; callId: string };

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
  const match = /^\/calls\/active\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  try {
    return { name: 'call', callId: decodeURIComponent(match[1]!) };
  } catch {
    throw new InvalidArgumentError({
      message: 'The call id in the path is not valid URL encoding.',
    });
  }
}
