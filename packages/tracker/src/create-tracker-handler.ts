import {
  type Authenticate,
  type Clock,
  type FetchHandler,
  InvalidArgumentError,
  jsonResponse,
  type Logger,
  NotFoundError,
  type Principal,
  principalSchema,
  tenantIdSchema,
  toErrorResponse,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  UnsupportedOperationError,
} from '@calltrack/core';
import {
  acceptParsedJsonBody,
  isOutageError,
  parseAllowedOrigins,
  refuseBodyFields,
  refuseForeignWrite,
} from '@calltrack/core/internal';
import type { CallTracker } from './call-tracker';
import { createMemoryIdempotencyStore } from './create-memory-idempotency-store';
import { isExpectedRefusal } from './expected-refusal';
import type { IdempotencyStore } from './idempotency-store';
import {
  matchTrackerRoute,
  normalizeBasePath,
  type TrackerRouteName,
  trackerRoutes,
} from './match-tracker-route';
import { defaultActiveListLimit, nextPageAfter } from './next-active-page';
import { type PlaceCallSettings, placeCallRoute } from './place-call-route';
import {
  parseAfterParams,
  parseGranularityParam,
  parseLimitParam,
  parseTimeParam,
  readTrackerQuery,
} from './read-tracker-query';
import { requestMediaType } from './request-media-type';
import { terminateCallRoute } from './terminate-call-route';
import { checkTrackerCallControl, type TrackerCallControl } from './tracker-call-control';
import { createMaskedLogger, defaultTrackerLogger } from './tracker-logger';

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
  /**
   * The origins whose pages may write (`POST`: place a call, end one), e.g.
   * `['https://app.example']`: a write whose `Origin` header names another (or is `null`) is
   * answered 403 (`origin_not_allowed`) before `authenticate` runs. Set it when `authenticate`
   * reads a cookie: a page of any site can send a bodyless `POST /calls/:callId/terminate` with
   * it (a `no-cors` fetch needs no preflight). A write without `Origin` is refused too when its
   * `Sec-Fetch-Site` is `cross-site` or `same-site`, and goes on with `same-origin`, `none` or no
   * `Sec-Fetch-Site` (not a browser): the rule of the dialer's and every transport's
   * `allowedOrigins`. Reads (`GET`) are not checked. Default: every origin.
   */
  allowedOrigins?: readonly string[];
  /** Where unexpected (500) errors are reported; phone numbers are masked. */
  logger?: Logger;
  /**
   * Turns on the call-control routes, `POST {basePath}/calls` and
   * `POST {basePath}/calls/:callId/terminate`: the `CallControl` adapters by provider
   * (`{ twilio: createTwilioCallControl(…), … }`), or a function
   * `(principal, provider, { tenantId, operation }) => CallControl | undefined` (sync or async)
   * for provider accounts per tenant. Without it those paths answer 404.
   */
  callControl?: TrackerCallControl;
  /**
   * Where `POST /calls` keeps its request ids and answers. Default: a memory store of this handler,
   * right for one process only. With several processes (or the Redis tracker store), give every
   * handler the same `createRedisIdempotencyStore({ redis })` from `@calltrack/tracker/redis`, or
   * a request repeated on another process places a second call.
   */
  idempotency?: {
    store?: IdempotencyStore;
    /** How long a request id and its answer are kept. Default 24 hours. */
    ttlMs?: number;
    /**
     * How long a repeat waits for the first request with its id to finish before answering 409
     * `request_in_progress`. Default 10 seconds.
     */
    waitMs?: number;
    /**
     * A request id claimed longer ago than this and never answered belongs to a process that died
     * while placing: repeats get 409 `request_outcome_unknown`. Default 2 minutes (keep it above
     * the adapters' request timeout).
     */
    pendingTimeoutMs?: number;
  };
  /** Where the handler reads the time, for request ids. Default `Date.now`. */
  clock?: Clock;
}

/** The call-control routes, there only with `callControl`. */
const callControlRoutes: ReadonlySet<TrackerRouteName> = new Set(['place', 'terminate']);

/** Routes that have a cross-tenant query, for principals with `allTenants`. */
const acrossTenantRoutes: ReadonlySet<TrackerRouteName> = new Set(['list', 'count']);

/**
 * Creates the read API over a tracker, as a fetch handler (`toNodeHandler` for Express or
 * `node:http`; a Next.js route handler as is). It checks no signature, so in Express it may be
 * mounted before or after `express.json()` (a body that parser read is serialized again; one
 * `express.urlencoded()` read is 415 where a body is read). Every route is `GET`:
 *
 * - `GET {basePath}/calls/active?branchId=&limit=&afterCallId=&afterStartedAt=` →
 *   `{ calls: CallSnapshot[], next? }`, newest first (`limit` 1–10,000, default 1,000); a full
 *   page carries `next: { afterCallId, afterStartedAt }`, its last call, to pass back for the next
 *   page (see `listActiveCalls`' `after`; the two parameters go together);
 * - `GET {basePath}/calls/active/count` → `{ total, byBranch }`;
 * - `GET {basePath}/calls/recent?branchId=&limit=` → `{ calls: CallSnapshot[] }`, the most
 *   recently ended first (see `listRecentCalls`; `limit` 1–1,000, default 50);
 * - `GET {basePath}/calls/active/:callId` → `{ call }` (also a recently ended call; 404 for an
 *   unknown call or another tenant's);
 * - `GET {basePath}/calls/analytics?from=&to=&granularity=` → `CallAnalytics` (default: the last
 *   24 hours by hour; see `getAnalytics`).
 *
 * A principal reads its own tenant. One with `allTenants: true` reads every tenant's active calls
 * (`/calls/active` → `{ calls }` of all tenants, newest first, not paged; `/calls/active/count` →
 * `{ total, byTenant }`), and on any route may name one tenant with `?tenantId=` to read it as
 * that tenant would; the routes without a cross-tenant view (`/calls/recent`,
 * `/calls/active/:callId`, `/calls/analytics`) read its own tenant unless it names one.
 *
 * With `callControl`, two call-control routes (see the README for every answer):
 *
 * - `POST {basePath}/calls` with JSON `{ provider, to, from?, agentNumber?, requestId }` places a
 *   call for the principal's own tenant (also a super-admin's) through the provider's adapter:
 *   `202 { call: { provider, callId, reference } }` (`callId` null when the provider sends it
 *   later; `reference` is the `requestId`). A repeat with the same `requestId` gets the same
 *   answer and places nothing, also while the first is running and on another process sharing
 *   the `idempotency.store`.
 * - `POST {basePath}/calls/:callId/terminate` ends a call of the tenant (a super-admin's of any
 *   tenant, or of the one named with `?tenantId=`): `202 { callId, status: 'terminating' }`;
 *   `200 { callId, status }` for a call that already ended; 404 for an unknown call or another
 *   tenant's; 501 when its provider has no adapter or cannot end calls (CallerDesk). It takes no
 *   body, or `{}`: a field is 400.
 *
 * The screens update from the webhooks that follow, not from these answers. A provider's failure
 * is answered with a mapped status (422 refused, 502/503/504 unavailable) and
 * `{ error: { code, message, provider, retryable } }`.
 *
 * 404 for an unknown path, 405 (with `Allow`) for another method, 403 `origin_not_allowed` for a
 * write from another origin's page (see `allowedOrigins`), 401 without credentials,
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
  const allowedOrigins = parseAllowedOrigins('createTrackerHandler', options.allowedOrigins);
  const logger = createMaskedLogger(options.logger ?? defaultTrackerLogger);
  const { tracker, callControl, clock } = options;
  checkTrackerCallControl(callControl);
  const placeSettings: PlaceCallSettings | undefined =
    callControl === undefined
      ? undefined
      : {
          callControl,
          store: options.idempotency?.store ?? createMemoryIdempotencyStore(),
          ttlMs: positive(options.idempotency?.ttlMs, 86_400_000, 'idempotency.ttlMs'),
          waitMs: positive(options.idempotency?.waitMs, 10_000, 'idempotency.waitMs'),
          pendingTimeoutMs: positive(
            options.idempotency?.pendingTimeoutMs,
            120_000,
            'idempotency.pendingTimeoutMs',
          ),
          now: clock === undefined ? Date.now : () => clock.now(),
          logger,
        };

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const route = matchTrackerRoute(url.pathname, basePath);
    if (!route || (callControlRoutes.has(route.name) && placeSettings === undefined)) {
      throw new NotFoundError({ message: 'No such route.' });
    }
    const { method } = trackerRoutes[route.name];
    if (request.method !== method) {
      return jsonResponse(
        { error: { code: 'method_not_allowed', message: `Only ${method} is supported here.` } },
        { status: 405, headers: { allow: method, 'cache-control': 'no-store' } },
      );
    }
    refuseForeignWrite(request, allowedOrigins);
    const principal = checkPrincipal(await options.authenticate(request));
    const allTenants = principal.allTenants === true;
    const allowed: readonly string[] = trackerRoutes[route.name].query;
    const query = readTrackerQuery(
      url.searchParams,
      // Placing a call is always for the principal's own tenant.
      allTenants && route.name !== 'place' ? [...allowed, 'tenantId'] : allowed,
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
      case 'place':
        return placeCallRoute(request, principal, placeSettings!);
      case 'terminate': {
        // It takes no body: any content type but JSON is 415, as on POST /calls, so a cross-site
        // HTML form (urlencoded, multipart, text/plain, with the session cookie) cannot end a call.
        const mediaType = requestMediaType(request);
        if (mediaType !== undefined && mediaType !== 'application/json') {
          throw new UnsupportedMediaTypeError({
            message: 'POST /calls/:callId/terminate takes no body, or application/json.',
          });
        }
        await refuseBodyFields(
          request,
          'POST /calls/:callId/terminate',
          'the call is the one in the path, and the tenant comes from your credentials (or ?tenantId=)',
        );
        return terminateCallRoute(
          route.callId,
          principal,
          tenantId,
          allTenants && query.tenantId === undefined,
          {
            tracker,
            callControl: placeSettings!.callControl,
          },
        );
      }
      case 'list': {
        if (acrossTenants) {
          if (query.branchId !== undefined) {
            throw new InvalidArgumentError({
              message: 'branchId is per tenant: name the tenant with tenantId.',
            });
          }
          if (query.afterCallId !== undefined || query.afterStartedAt !== undefined) {
            throw new InvalidArgumentError({
              message: 'afterCallId and afterStartedAt page one tenant: name it with tenantId.',
            });
          }
          return json({ calls: await tracker.listActiveCallsAcrossTenants(limit()) });
        }
        const after = parseAfterParams(query);
        const pageSize =
          query.limit === undefined ? defaultActiveListLimit : parseLimitParam(query.limit);
        const calls = await tracker.listActiveCalls(tenantId, {
          ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
          ...(after === undefined ? {} : { after }),
          limit: pageSize,
        });
        const last = calls.length === pageSize ? calls.at(-1) : undefined;
        return json(last === undefined ? { calls } : { calls, next: nextPageAfter(last) });
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

  // A JSON API that checks no signature: behind express.json() the Node bridge hands it the
  // parsed body serialized again, instead of refusing the request as it does for webhooks.
  return acceptParsedJsonBody(async (request: Request): Promise<Response> => {
    try {
      return await handle(request);
    } catch (error) {
      if (isOutageError(error)) {
        // Answered 503 with Retry-After; one line per request, no stack: the cause is known.
        logger.error('The tracker read API could not reach Redis.', {
          path: new URL(request.url).pathname,
          message: (error as Error).message,
        });
      } else if (!isExpectedRefusal(error)) {
        logger.error('The tracker read API failed.', {
          path: new URL(request.url).pathname,
          error,
        });
      } else if (UnsupportedOperationError.isInstance(error)) {
        // The client is told (501); an operator may want to know what was asked for.
        logger.debug('Refused an operation nothing configured can do.', {
          path: new URL(request.url).pathname,
          message: error.message,
        });
      }
      const response = toErrorResponse(error);
      response.headers.set('cache-control', 'no-store');
      return response;
    }
  });
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

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError({
      message: `createTrackerHandler: ${name} must be a positive number of milliseconds.`,
    });
  }
  return value;
}

function json(body: unknown): Response {
  return jsonResponse(body, { headers: { 'cache-control': 'no-store' } });
}
