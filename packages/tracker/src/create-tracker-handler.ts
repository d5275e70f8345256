import {
  type Authenticate,
  CallTrackError,
  type FetchHandler,
  InvalidArgumentError,
  jsonResponse,
  NotFoundError,
  type Principal,
  principalSchema,
  tenantIdSchema,
  toErrorResponse,
  UnauthorizedError,
} from '@calltrack/core';
import type { CallTracker } from './call-tracker';
import {
  matchTrackerRoute,
  normalizeBasePath,
  type TrackerRouteName,
  trackerRoutes,
} from './match-tracker-route';
import {
  parseGranularityParam,
  parseLimitParam,
  parseTimeParam,
  readTrackerQuery,
} from './read-tracker-query';
import { createMaskedLogger, defaultTrackerLogger, type TrackerLogger } from './tracker-logger';

/** Options of {@link createTrackerHandler}. */
export interface CreateTrackerHandlerOptions {
  /** The tracker to read from. */
  tracker: Pick<
    CallTracker,
    | 'listActiveCalls'
    | 'countActiveCalls'
    | 'listRecentCalls'
    | 'getCall'
    | 'getAnalytics'
    | 'listActiveCallsAcrossTenants'
    | 'countActiveCallsAcrossTenants'
  >;
  /**
   * Resolves the caller from the request (a session cookie, a bearer token…): core's
   * `Principal`. Return null or undefined for no or bad credentials: answered 401. The tenant
   * always comes from here, never from the query; only a principal with `allTenants: true` may
   * name another tenant (`?tenantId=`). Throw a `CallTrackError` to answer with its status; a
   * principal that is not valid (see core's `principalSchema`) is a 500.
   */
  authenticate: Authenticate<Request>;
  /** Where the routes are mounted, e.g. `/api`. Default: the root. */
  basePath?: string;
  /** Where unexpected (500) errors are reported; phone numbers are masked. */
  logger?: TrackerLogger;
}

/** Routes that have a cross-tenant query, for principals with `allTenants`. */
const acrossTenantRoutes: ReadonlySet<TrackerRouteName> = new Set(['list', 'count']);

/**
 * Creates the read API over a tracker, as a fetch handler (`toNodeHandler` for Express or
 * `node:http`; a Next.js route handler as is). Every route is `GET`:
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
 * A principal reads its own tenant. One with `allTenants: true` reads every tenant's active calls
 * (`/calls/active` → `{ calls }` of all tenants, newest first; `/calls/active/count` →
 * `{ total, byTenant }`), and on any route may name one tenant with `?tenantId=` to read it as
 * that tenant would; the routes without a cross-tenant view (`/calls/recent`,
 * `/calls/active/:callId`, `/calls/analytics`) read its own tenant unless it names one.
 *
 * 404 for an unknown path, 405 (with `Allow: GET`) for another method, 401 without credentials,
 * 400 for a bad or unknown query parameter (`tenantId` included, for a principal without
 * `allTenants`: the tenant is never taken from the query). Errors are JSON
 * `{ error: { code, message } }`.
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
    const route = matchTrackerRoute(url.pathname, basePath);
    if (!route) throw new NotFoundError({ message: 'No such route.' });
    if (request.method !== 'GET') {
      return jsonResponse(
        { error: { code: 'method_not_allowed', message: 'Only GET is supported.' } },
        { status: 405, headers: { allow: 'GET', 'cache-control': 'no-store' } },
      );
    }
    const principal = checkPrincipal(await options.authenticate(request));
    const allTenants = principal.allTenants === true;
    const allowed: readonly string[] = trackerRoutes[route.name].query;
    const query = readTrackerQuery(
      url.searchParams,
      allTenants ? [...allowed, 'tenantId'] : allowed,
    );
    let tenantId = principal.tenantId;
    if (query.tenantId !== undefined) {
      if (!tenantIdSchema.safeParse(query.tenantId).success) {
        throw new InvalidArgumentError({ message: '"tenantId" is not a valid tenant id.' });
      }
      tenantId = query.tenantId;
    }
    const acrossTenants =
      allTenants && query.tenantId === undefined && acrossTenantRoutes.has(route.name);
    const limit = (max?: number) =>
      query.limit === undefined ? {} : { limit: parseLimitParam(query.limit, max) };

    switch (route.name) {
      case 'list': {
        if (acrossTenants) {
          if (query.branchId !== undefined) {
            throw new InvalidArgumentError({
              message: 'branchId is per tenant: name the tenant with tenantId.',
            });
          }
          return json({ calls: await tracker.listActiveCallsAcrossTenants(limit()) });
        }
        const calls = await tracker.listActiveCalls(tenantId, {
          ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
          ...limit(),
        });
        return json({ calls });
      }
      case 'count':
        return json(
          acrossTenants
            ? await tracker.countActiveCallsAcrossTenants()
            : await tracker.countActiveCalls(tenantId),
        );
      case 'recent': {
        const calls = await tracker.listRecentCalls(tenantId, {
          ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
          ...limit(1000),
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
            granularity: parseGranularityParam(query.granularity),
            ...(query.from === undefined ? {} : { from: parseTimeParam(query.from, 'from') }),
            ...(query.to === undefined ? {} : { to: parseTimeParam(query.to, 'to') }),
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

/**
 * What `authenticate` returned, checked: null or undefined is a 401; anything that is not a
 * valid `Principal` is the app's bug, a 500 (logged, nothing revealed).
 */
function checkPrincipal(principal: Principal | null | undefined): Principal {
  if (principal == null)
    throw new UnauthorizedError({ message: 'Missing or invalid credentials.' });
  const checked = principalSchema.safeParse(principal);
  if (!checked.success) {
    const field = checked.error.issues[0]?.path.join('.') || '(root)';
    throw new Error(`authenticate() returned a principal that is not valid (${field}).`);
  }
  return principal;
}

function json(body: unknown): Response {
  return jsonResponse(body, { headers: { 'cache-control': 'no-store' } });
}
