import {
  CallTrackError,
  type FetchHandler,
  InvalidArgumentError,
  jsonResponse,
  NotFoundError,
  tenantIdSchema,
  toErrorResponse,
  UnauthorizedError,
} from '@calltrack/core';
import type { AnalyticsGranularity } from './analytics-granularity';
import type { CallTracker } from './call-tracker';
import { createMaskedLogger, defaultTrackerLogger, type TrackerLogger } from './tracker-logger';

/** Who is asking: what `authenticate` returns for a valid request. */
export interface TrackerPrincipal {
  /** The only tenant whose calls this request may read. */
  tenantId: string;
  /** Anything else your app knows (user id, roles); the handler ignores it. */
  [key: string]: unknown;
}

/** Options of {@link createTrackerHandler}. */
export interface CreateTrackerHandlerOptions {
  /** The tracker to read from (only its tenant-scoped queries are used). */
  tracker: Pick<
    CallTracker,
    'listActiveCalls' | 'countActiveCalls' | 'listRecentCalls' | 'getCall' | 'getAnalytics'
  >;
  /**
   * Resolves the caller from the request (a session cookie, a bearer token…). Return null or
   * undefined for no or bad credentials: answered 401. The tenant always comes from here, never
   * from the query. Throw a `CallTrackError` to answer with its status.
   */
  authenticate: (
    request: Request,
  ) => TrackerPrincipal | null | undefined | Promise<TrackerPrincipal | null | undefined>;
  /** Where the routes are mounted, e.g. `/api`. Default: the root. */
  basePath?: string;
  /** Where unexpected (500) errors are reported; phone numbers are masked. */
  logger?: TrackerLogger;
}

const routes = {
  list: { query: ['branchId', 'limit'] },
  count: { query: [] },
  recent: { query: ['branchId', 'limit'] },
  call: { query: [] },
  analytics: { query: ['from', 'to', 'granularity'] },
} as const;

type RouteName = keyof typeof routes;

/**
 * Creates the read API over a tracker, as a fetch handler (`toNodeHandler` for Express or
 * `node:http`; a Next.js route handler as is). Every route is `GET` and tenant-scoped:
 *
 * - `GET {basePath}/calls/active?branchId=&limit=` → `{ calls: CallSnapshot[] }`, newest first;
 * - `GET {basePath}/calls/active/count` → `{ total, byBranch }`;
 * - `GET {basePath}/calls/recent?branchId=&limit=` → `{ calls: CallSnapshot[] }`, the most
 *   recently ended first (see `listRecentCalls`; `limit` 1–1,000, default 50);
 * - `GET {basePath}/calls/active/:callId` → `{ call }` (also a recently ended call; 404 for an
 *   unknown call or another tenant's);
 * - `GET {basePath}/calls/analytics?from=&to=&granularity=` → `CallAnalytics` (default: the last
 *   24 hours by hour; see `getAnalytics`).
 *
 * 404 for an unknown path, 405 (with `Allow: GET`) for another method, 401 without credentials,
 * 400 for a bad or unknown query parameter (`tenantId` included: the tenant is never taken from
 * the query). Errors are JSON `{ error: { code, message } }`.
 */
export function createTrackerHandler(options: CreateTrackerHandlerOptions): FetchHandler {
  if (options == null || typeof options !== 'object' || options.tracker == null) {
    throw new InvalidArgumentError({
      message: 'createTrackerHandler needs { tracker, authenticate }.',
    });
  }
  if (typeof options.authenticate !== 'function') {
    throw new InvalidArgumentError({
      message: 'createTrackerHandler needs authenticate(request): the tenant comes from it.',
    });
  }
  const basePath = normalizeBasePath(options.basePath);
  const logger = createMaskedLogger(options.logger ?? defaultTrackerLogger);
  const { tracker } = options;

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const route = matchRoute(url.pathname, basePath);
    if (!route) throw new NotFoundError({ message: 'No such route.' });
    if (request.method !== 'GET') {
      return jsonResponse(
        { error: { code: 'method_not_allowed', message: 'Only GET is supported.' } },
        { status: 405, headers: { allow: 'GET', 'cache-control': 'no-store' } },
      );
    }
    const principal = await options.authenticate(request);
    if (principal == null)
      throw new UnauthorizedError({ message: 'Missing or invalid credentials.' });
    if (!tenantIdSchema.safeParse(principal.tenantId).success) {
      throw new Error('authenticate() returned a principal without a valid tenantId.');
    }
    const { tenantId } = principal;
    const query = readQuery(url.searchParams, routes[route.name].query);

    switch (route.name) {
      case 'list': {
        const calls = await tracker.listActiveCalls(tenantId, {
          ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
          ...(query.limit === undefined ? {} : { limit: parseLimit(query.limit) }),
        });
        return json({ calls });
      }
      case 'count':
        return json(await tracker.countActiveCalls(tenantId));
      case 'recent': {
        const calls = await tracker.listRecentCalls(tenantId, {
          ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
          ...(query.limit === undefined ? {} : { limit: parseLimit(query.limit, 1000) }),
        });
        return json({ calls });
      }
      case 'call': {
        const call = await tracker.getCall(tenantId, route.callId);
        if (!call) throw new NotFoundError({ message: 'No such call.' });
        return json({ call });
      }
      case 'analytics': {
        return json(
          await tracker.getAnalytics(tenantId, {
            granularity: parseGranularity(query.granularity),
            ...(query.from === undefined ? {} : { from: parseTime(query.from, 'from') }),
            ...(query.to === undefined ? {} : { to: parseTime(query.to, 'to') }),
          }),
        );
      }
    }
  };

  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      if (!CallTrackError.isInstance(error) || error.status >= 500) {
        logger.error('The tracker read API failed.', {
          path: new URL(request.url).pathname,
          error,
        });
      }
      const response = toErrorResponse(error);
      response.headers.set('cache-control', 'no-store');
      return response;
    }
  };
}

function json(body: unknown): Response {
  return jsonResponse(body, { headers: { 'cache-control': 'no-store' } });
}

function normalizeBasePath(basePath: string | undefined): string {
  if (basePath === undefined || basePath === '' || basePath === '/') return '';
  if (typeof basePath !== 'string' || !basePath.startsWith('/')) {
    throw new InvalidArgumentError({ message: 'basePath must start with "/", e.g. "/api".' });
  }
  return basePath.replace(/\/+$/, '');
}

function matchRoute(
  pathname: string,
  basePath: string,
): { name: Exclude<RouteName, 'call'> } | { name: 'call'; callId: string } | undefined {
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

function readQuery(params: URLSearchParams, allowed: readonly string[]): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!allowed.includes(name)) {
      throw new InvalidArgumentError({
        message:
          name === 'tenantId'
            ? 'tenantId is not a query parameter: the tenant comes from your credentials.'
            : `Unknown query parameter "${name}".`,
      });
    }
    if (name in query) throw new InvalidArgumentError({ message: `"${name}" was given twice.` });
    if (value === '') throw new InvalidArgumentError({ message: `"${name}" is empty.` });
    query[name] = value;
  }
  return query;
}

function parseLimit(value: string, max = 10_000): number {
  const limit = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= max)) {
    throw new InvalidArgumentError({ message: `"limit" must be an integer from 1 to ${max}.` });
  }
  return limit;
}

function parseGranularity(value: string | undefined): AnalyticsGranularity {
  if (value === undefined) return 'hour';
  if (value === 'minute' || value === 'hour' || value === 'day') return value;
  throw new InvalidArgumentError({ message: '"granularity" must be minute, hour or day.' });
}

function parseTime(value: string, name: string): number {
  const time = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) {
    throw new InvalidArgumentError({
      message: `"${name}" must be an ISO 8601 time or milliseconds since the epoch.`,
    });
  }
  return time;
}
