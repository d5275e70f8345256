import {
  type Authenticate,
  CallTrackError,
  checkJsonLimits,
  type FetchHandler,
  InvalidArgumentError,
  InvalidPayloadError,
  jsonResponse,
  NotFoundError,
  readRequestText,
  tenantIdSchema,
  toErrorResponse,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '@calltrack/core';
import {
  acceptParsedJsonBody,
  findRepeatedJsonKey,
  parseAllowedOrigins,
  refuseForeignWrite,
  toError,
} from '@calltrack/core/internal';
import type { WebhookAttempt, WebhookDelivery } from './webhook-delivery';
import type { WebhookDispatcher } from './webhook-dispatcher';

/** Options of {@link createWebhookHandler}. */
export interface CreateWebhookHandlerOptions {
  /** The dispatcher whose endpoints are managed (its tenant-scoped methods are used). */
  dispatcher: WebhookDispatcher;
  /**
   * Resolves the caller from the request's headers (never its body): a `Principal` whose
   * `tenantId` owns the endpoints, or null for missing / bad credentials (401).
   */
  authenticate: Authenticate<Request>;
  /** Where the routes are mounted, e.g. `/api`. Default: the root. */
  basePath?: string;
  /**
   * The origins whose pages may write (`POST`, `PUT`, `DELETE`), e.g. `['https://app.example']`:
   * a write whose `Origin` header names another (or is `null`) is answered 403
   * (`origin_not_allowed`) before `authenticate` runs. Set it when `authenticate` reads a cookie:
   * a page of any site can send a bodyless `POST /webhooks/:id/rotate-secret` or `/test` with it
   * (a `no-cors` fetch needs no preflight). A write without `Origin` is refused too when its
   * `Sec-Fetch-Site` is `cross-site` or `same-site`, and goes on with `same-origin`, `none` or no
   * `Sec-Fetch-Site` (not a browser): the rule of the dialer's and every transport's
   * `allowedOrigins`. Reads (`GET`, which never show a secret) are not checked. Default: every
   * origin.
   */
  allowedOrigins?: readonly string[];
  /** Largest request body in bytes, a whole number from 1. Default 64 KiB. */
  maxBodyBytes?: number;
  /**
   * Unexpected (500) errors; a thrown value that is not an `Error` arrives wrapped in one (its
   * `cause`). Default `console.error`.
   */
  onError?: (error: Error) => void;
}

type Route =
  | { name: 'collection' }
  | { name: 'failed' }
  | { name: 'endpoint'; id: string }
  | { name: 'test' | 'logs' | 'stats' | 'rotate-secret' | 'resend' | 'recover'; id: string };

const methods: Record<Route['name'], string> = {
  collection: 'GET, POST',
  failed: 'GET',
  endpoint: 'GET, PUT, DELETE',
  test: 'POST',
  logs: 'GET',
  stats: 'GET',
  'rotate-secret': 'POST',
  resend: 'POST',
  recover: 'POST',
};

const bodyLimits = { maxDepth: 8, maxLength: 64 * 1024 };

/**
 * The management API of outbound webhooks as a fetch handler (`toNodeHandler` for Express; a
 * Next.js route handler as is). The tenant always comes from `authenticate`; an endpoint of
 * another tenant is answered 404, exactly like one that does not exist.
 *
 * - `POST /webhooks` → 201 `{ endpoint, secret }` (the secret is shown here and on rotation only)
 * - `GET /webhooks` → `{ endpoints }`
 * - `GET /webhooks/failed?endpointId=&since=&before=&cursor=&limit=` → `{ deliveries, nextCursor }`
 *   (the next page: `cursor=<nextCursor>`)
 * - `GET /webhooks/:id` → `{ endpoint }`; `PUT /webhooks/:id` (the fields to change) → `{ endpoint }`;
 *   `DELETE /webhooks/:id` → 204
 * - `POST /webhooks/:id/test` → `{ attempt }` (429 with `Retry-After` at the tenant's test-send
 *   budget or the endpoint's limits)
 * - `GET /webhooks/:id/logs?limit=&before=&cursor=&since=&status=` → `{ attempts, nextCursor }`
 * - `GET /webhooks/:id/stats?windowMs=` → `{ stats }`
 * - `POST /webhooks/:id/rotate-secret` `{ gracePeriodSeconds? }` → `{ endpoint, secret }`
 * - `POST /webhooks/:id/resend` `{ messageId }` → 202 `{ queued: 1 }`
 * - `POST /webhooks/:id/recover` `{ since, until? }` → 202 `{ queued }`
 *
 * Errors are JSON `{ error: { code, message } }`: 400 for bad input (naming the field), 401, 403
 * (`origin_not_allowed`: a write from another origin's page, see `allowedOrigins`), 404,
 * 405 (with `Allow`), 409 (quota, disabled endpoint), 413, 415. What can be refused from the
 * method, the headers or the declared length is refused before the body is read.
 *
 * It checks no signature, so in Express it may be mounted before or after `express.json()`: a
 * body that parser read is serialized again (`maxBodyBytes` applies to it), and a form body
 * `express.urlencoded()` read is 415, as it is without the parser.
 */
export function createWebhookHandler(options: CreateWebhookHandlerOptions): FetchHandler {
  if (options == null || options.dispatcher == null || typeof options.authenticate !== 'function') {
    throw new InvalidArgumentError({
      message: 'createWebhookHandler needs { dispatcher, authenticate }.',
    });
  }
  const { dispatcher } = options;
  const basePath = normalizeBasePath(options.basePath);
  const allowedOrigins = parseAllowedOrigins('createWebhookHandler', options.allowedOrigins);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  // NaN (a setting read from an unset variable) would bound nothing: every body read whole.
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new InvalidArgumentError({
      message: `createWebhookHandler: maxBodyBytes must be a whole number from 1, got ${String(maxBodyBytes)}.`,
    });
  }
  const reportTo =
    options.onError ?? ((error: Error) => console.error('[calltrack/webhooks]', error));
  const onError = (error: unknown): void => reportTo(toError(error));

  const readJson = async (
    request: Request,
    required: boolean,
  ): Promise<Record<string, unknown>> => {
    const text = await readRequestText(request, { maxBytes: maxBodyBytes });
    // A body that declared no length (a stream) and no type: refused once it turns out to be one.
    if (text !== '' && request.headers.get('content-type') === null) {
      throw new UnsupportedMediaTypeError({ message: 'Send the body as application/json.' });
    }
    if (text.trim() === '') {
      if (required) throw new InvalidPayloadError({ message: 'The request needs a JSON body.' });
      return {};
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InvalidPayloadError({ message: 'The body is not valid JSON.', cause: error });
    }
    const violation = checkJsonLimits(value, bodyLimits);
    if (violation) {
      throw new InvalidPayloadError({ message: `The body ${violation.message}.` });
    }
    // A key given twice in one object is ambiguous, as a query parameter given twice is:
    // JSON.parse keeps the last, a proxy or a log may read the first (which URL was meant?).
    // (Behind express.json() the parser already kept one: the text here is its value written
    // again.)
    const repeated = findRepeatedJsonKey(text);
    if (repeated !== undefined) {
      throw new InvalidPayloadError({
        message: `The body gives ${JSON.stringify(repeated.key.slice(0, 64))} twice in one object: give each key once.`,
      });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidPayloadError({ message: 'The body must be a JSON object.' });
    }
    return value as Record<string, unknown>;
  };

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const route = matchRoute(url.pathname, basePath);
    if (!route) throw new NotFoundError({ message: 'No such route.' });
    const allowed = methods[route.name];
    if (!allowed.split(', ').includes(request.method)) {
      return jsonResponse(
        { error: { code: 'method_not_allowed', message: `Use ${allowed}.` } },
        { status: 405, headers: { allow: allowed } },
      );
    }
    refuseForeignWrite(request, allowedOrigins);
    const principal = await options.authenticate(request);
    if (principal == null) {
      throw new UnauthorizedError({ message: 'Missing or invalid credentials.' });
    }
    if (!tenantIdSchema.safeParse(principal.tenantId).success) {
      throw new Error('authenticate() returned a principal without a valid tenantId.');
    }
    const { tenantId } = principal;
    // Any content type but JSON is 415, an empty body too: a cross-site HTML form (urlencoded,
    // multipart, text/plain, with the session cookie) cannot rotate a secret or send a test.
    // No content type is fine only without a body: another site's page can send bytes or a
    // Blob with none (a `no-cors` fetch, `sendBeacon`), with the cookie and without a preflight.
    const hasBody = request.method === 'POST' || request.method === 'PUT';
    if (hasBody) {
      const type = request.headers.get('content-type');
      if (
        type === null ? declaresBody(request.headers) : !/^application\/json\s*(;|$)/i.test(type)
      ) {
        throw new UnsupportedMediaTypeError({ message: 'Send the body as application/json.' });
      }
    }
    const query = readQuery(url.searchParams, queryParams[route.name]);

    switch (route.name) {
      case 'collection': {
        if (request.method === 'GET') {
          return json({ endpoints: await dispatcher.listEndpoints(tenantId) });
        }
        const created = await dispatcher.createEndpoint(tenantId, await readJson(request, true));
        return json(created, 201);
      }
      case 'failed': {
        const page = await dispatcher.listFailedDeliveries(tenantId, {
          ...(query.endpointId === undefined ? {} : { endpointId: query.endpointId }),
          ...(query.since === undefined ? {} : { since: parseTime(query.since, 'since') }),
          ...(query.before === undefined ? {} : { before: parseTime(query.before, 'before') }),
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
          ...(query.limit === undefined ? {} : { limit: parseInteger(query.limit, 'limit') }),
        });
        return json({
          deliveries: page.deliveries.map(deliveryJson),
          nextCursor: page.nextCursor,
        });
      }
      case 'endpoint': {
        if (request.method === 'GET') {
          return json({ endpoint: await dispatcher.getEndpoint(tenantId, route.id) });
        }
        if (request.method === 'DELETE') {
          await dispatcher.deleteEndpoint(tenantId, route.id);
          return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
        }
        // Unknown ids are answered 404 before the body is read.
        await dispatcher.getEndpoint(tenantId, route.id);
        const endpoint = await dispatcher.updateEndpoint(
          tenantId,
          route.id,
          await readJson(request, true),
        );
        return json({ endpoint });
      }
      case 'test':
        return json({ attempt: attemptJson(await dispatcher.sendTest(tenantId, route.id)) });
      case 'logs': {
        const status = query.status;
        if (status !== undefined && status !== 'succeeded' && status !== 'failed') {
          throw new InvalidArgumentError({ message: '"status" must be succeeded or failed.' });
        }
        const page = await dispatcher.listAttempts(tenantId, route.id, {
          ...(query.limit === undefined ? {} : { limit: parseInteger(query.limit, 'limit') }),
          ...(query.before === undefined ? {} : { before: parseTime(query.before, 'before') }),
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
          ...(query.since === undefined ? {} : { since: parseTime(query.since, 'since') }),
          ...(status === undefined ? {} : { status }),
        });
        return json({
          attempts: page.attempts.map(attemptJson),
          nextCursor: page.nextCursor,
        });
      }
      case 'stats': {
        const stats = await dispatcher.getStats(
          tenantId,
          route.id,
          query.windowMs === undefined
            ? {}
            : { windowMs: parseInteger(query.windowMs, 'windowMs') },
        );
        return json({ stats });
      }
      case 'rotate-secret': {
        await dispatcher.getEndpoint(tenantId, route.id);
        const body = await readJson(request, false);
        checkFields(body, ['gracePeriodSeconds']);
        const grace = body.gracePeriodSeconds;
        if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace))) {
          throw new InvalidPayloadError({
            message: 'gracePeriodSeconds: must be a whole number of seconds.',
          });
        }
        return json(
          await dispatcher.rotateSecret(
            tenantId,
            route.id,
            grace === undefined ? {} : { gracePeriodMs: grace * 1000 },
          ),
        );
      }
      case 'resend': {
        await dispatcher.getEndpoint(tenantId, route.id);
        const body = await readJson(request, true);
        checkFields(body, ['messageId']);
        if (typeof body.messageId !== 'string') {
          throw new InvalidPayloadError({
            message: 'messageId: must be the webhook-id to resend.',
          });
        }
        await dispatcher.resend(tenantId, route.id, body.messageId);
        return json({ queued: 1 }, 202);
      }
      case 'recover': {
        await dispatcher.getEndpoint(tenantId, route.id);
        const body = await readJson(request, true);
        checkFields(body, ['since', 'until']);
        const since = parseBodyTime(body.since, 'since');
        const until = body.until === undefined ? undefined : parseBodyTime(body.until, 'until');
        const result = await dispatcher.recover(tenantId, route.id, {
          since,
          ...(until === undefined ? {} : { until }),
        });
        return json(result, 202);
      }
    }
  };

  // A JSON API that checks no signature: behind express.json() the Node bridge hands it the
  // parsed body serialized again, instead of refusing the request as it does for webhooks.
  return acceptParsedJsonBody(async (request: Request): Promise<Response> => {
    try {
      return await handle(request);
    } catch (error) {
      if (!CallTrackError.isInstance(error) || error.status >= 500) onError(error);
      const response = toErrorResponse(error);
      response.headers.set('cache-control', 'no-store');
      return response;
    }
  });
}

const queryParams: Record<Route['name'], readonly string[]> = {
  collection: [],
  failed: ['endpointId', 'since', 'before', 'cursor', 'limit'],
  endpoint: [],
  test: [],
  logs: ['limit', 'before', 'cursor', 'since', 'status'],
  stats: ['windowMs'],
  'rotate-secret': [],
  resend: [],
  recover: [],
};

function json(body: unknown, status = 200): Response {
  return jsonResponse(body, { status, headers: { 'cache-control': 'no-store' } });
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

function attemptJson(attempt: WebhookAttempt): Record<string, unknown> {
  return {
    ...attempt,
    startedAt: iso(attempt.startedAt),
    nextAttemptAt: iso(attempt.nextAttemptAt),
  };
}

function deliveryJson(delivery: WebhookDelivery): Record<string, unknown> {
  return {
    ...delivery,
    createdAt: iso(delivery.createdAt),
    updatedAt: iso(delivery.updatedAt),
    nextAttemptAt: iso(delivery.nextAttemptAt),
  };
}

/** Whether the headers say a body follows: a length above 0, or a transfer encoding. */
function declaresBody(headers: Headers): boolean {
  const length = headers.get('content-length');
  return (length !== null && !/^0*$/.test(length.trim())) || headers.has('transfer-encoding');
}

function normalizeBasePath(basePath: string | undefined): string {
  if (basePath === undefined || basePath === '' || basePath === '/') return '';
  if (typeof basePath !== 'string' || !basePath.startsWith('/')) {
    throw new InvalidArgumentError({ message: 'basePath must start with "/", e.g. "/api".' });
  }
  return basePath.replace(/\/+$/, '');
}

function matchRoute(pathname: string, basePath: string): Route | undefined {
  if (!pathname.startsWith(`${basePath}/`)) return undefined;
  const parts = pathname
    .slice(basePath.length + 1)
    .replace(/\/$/, '')
    .split('/');
  if (parts[0] !== 'webhooks') return undefined;
  if (parts.length === 1) return { name: 'collection' };
  const id = parts[1]!;
  if (parts.length === 2) return id === 'failed' ? { name: 'failed' } : { name: 'endpoint', id };
  if (parts.length === 3) {
    const action = parts[2]!;
    if (['test', 'logs', 'stats', 'rotate-secret', 'resend', 'recover'].includes(action)) {
      return { name: action as Exclude<Route['name'], 'collection' | 'failed' | 'endpoint'>, id };
    }
  }
  return undefined;
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
    query[name] = value;
  }
  return query;
}

function checkFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const name of Object.keys(body)) {
    if (!allowed.includes(name)) {
      throw new InvalidPayloadError({ message: `Unknown field "${name}".` });
    }
  }
}

function parseInteger(value: string, name: string): number {
  if (!/^\d{1,12}$/.test(value)) {
    throw new InvalidArgumentError({ message: `"${name}" must be a whole number.` });
  }
  return Number(value);
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

function parseBodyTime(value: unknown, name: string): number {
  const time =
    typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new InvalidPayloadError({
      message: `${name}: must be an ISO 8601 time or milliseconds since the epoch.`,
    });
  }
  return time;
}
