import {
  type Authenticate,
  CallTrackError,
  checkJsonLimits,
  type FetchHandler,
  InvalidArgumentError,
  InvalidPayloadError,
  jsonResponse,
  NotFoundError,
  type Principal,
  principalSchema,
  readRequestText,
  toErrorResponse,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '@calltrack/core';
import {
  acceptParsedJsonBody,
  findRepeatedJsonKey,
  parseAllowedOrigins,
  refuseBodyFields,
  refuseForeignWrite,
  toError,
} from '@calltrack/core/internal';
import type { Dialer } from './dialer';
import { InvalidLeadError } from './errors/invalid-lead-error';
import type { LeadInput } from './lead';
import { toLeadJson } from './lead-json';
import type { LeadStore } from './lead-store';

/** Options of {@link createDialerHandler}. */
export interface CreateDialerHandlerOptions {
  dialer: Dialer;
  /** The dialer's lead store: the leads listed and added. */
  store: LeadStore;
  /**
   * Resolves the caller from the request's headers (never its body): a `Principal` with the
   * `tenantId` and the `userId` whose leads these are, or null for missing / bad credentials
   * (401). A principal without a `userId` is answered 403: leads and runs are per user.
   */
  authenticate: Authenticate<Request>;
  /** Where the routes are mounted, e.g. `/api`. Default: the root. */
  basePath?: string;
  /**
   * The origins whose pages may write (`POST`), e.g. `['https://app.example']`: a write whose
   * `Origin` header names another is answered 403 (`origin_not_allowed`) before `authenticate`
   * runs. Set it when `authenticate` reads a cookie: a page of any site can send a bodyless
   * `POST /dialer/runs` with it (a `no-cors` fetch needs no preflight). A write without `Origin`
   * is refused too when its `Sec-Fetch-Site` is `cross-site` or `same-site`, and goes on with
   * `same-origin`, `none` or no `Sec-Fetch-Site` (not a browser): the rule of every transport's
   * `allowedOrigins`. Reads (`GET`) are not checked. Default: every origin.
   */
  allowedOrigins?: readonly string[];
  /** Most leads one `POST /dialer/leads` adds: a whole number from 1. Default 10,000. */
  maxLeadsPerRequest?: number;
  /**
   * Failures answered 5xx: unexpected errors (500) and a Redis or other backend that cannot take
   * the request now (503 `redis_unavailable`, `database_unavailable`); a thrown value that is not an `Error` arrives
   * wrapped in one (its `cause`). Default `console.error`.
   */
  onError?: (error: Error) => void;
}

type Route =
  | { name: 'leads' }
  | { name: 'lead'; id: string }
  | { name: 'runs' }
  | { name: 'run'; id: string };

const methods: Record<Route['name'], string> = {
  leads: 'GET, POST',
  lead: 'GET',
  runs: 'POST',
  run: 'GET',
};

const isJson = (contentType: string): boolean => /^application\/json\s*(;|$)/i.test(contentType);

const leadFields = new Set(['leadId', 'phoneNumber', 'timeZone']);

/**
 * The dialer's HTTP API as a fetch handler (`toNodeHandler` for Express; a Next.js route handler
 * as is), for apps on SSE or tRPC: the Socket.IO integration's `leads:fetched` as a route, and
 * what a leads page reads. The tenant and the user always come from `authenticate`; a lead or a
 * run of another tenant or user is answered 404, exactly like one that does not exist.
 *
 * - `POST /dialer/leads` `{ leads: [{ leadId, phoneNumber, timeZone? }] }` → 201 `{ added,
 *   existing }` (the signed-in user's leads; a lead already there is left as it is). Lead ids are
 *   unique per tenant: when some are another user's, 409 `{ error, conflicts: [leadId…], added,
 *   existing }`; those stay the other user's, every other lead was added (or already there). A
 *   lead id given twice in one request is 400 naming it, nothing added
 * - `GET /dialer/leads?after=&limit=` → `{ leads, nextAfter }` (every status, by lead id)
 * - `GET /dialer/leads/:leadId` → `{ lead }`
 * - `POST /dialer/runs` (no body, or `{}`; a field is 400) → 202 `{ outcome: 'started', runId }`
 *   or `{ outcome: 'follow_up_scheduled' }` (a run was active: one more runs after it)
 * - `GET /dialer/runs/:runId` → `{ run }` (a run started by any process on the bus once the
 *   dialer is `start()`ed, else only by this one: see `Dialer.getRun`)
 *
 * Errors are JSON `{ error: { code, message } }`: 400 for bad input (naming the lead and field),
 * 401, 403, 404, 405 (with `Allow`), 409 (`lead_conflict`), 413, 415.
 *
 * It checks no signature, so in Express it may be mounted before or after `express.json()`: a
 * body that parser read is serialized again (the API's own limit, 512 bytes a lead and at least
 * 64 KiB, applies to it, after the parser's), and a form body `express.urlencoded()` read is 415
 * where a body is read, as it is without the parser.
 */
export function createDialerHandler(options: CreateDialerHandlerOptions): FetchHandler {
  if (
    options == null ||
    options.dialer == null ||
    options.store == null ||
    typeof options.authenticate !== 'function'
  ) {
    throw new InvalidArgumentError({
      message: 'createDialerHandler needs { dialer, store, authenticate }.',
    });
  }
  const { dialer, store } = options;
  const allowedOrigins = parseAllowedOrigins('createDialerHandler', options.allowedOrigins);
  const basePath = normalizeBasePath(options.basePath);
  const maxLeads = options.maxLeadsPerRequest ?? 10_000;
  // NaN (a setting read from an unset variable) would bound neither the leads nor the bytes read.
  if (!Number.isSafeInteger(maxLeads) || maxLeads < 1) {
    throw new InvalidArgumentError({
      message: `createDialerHandler: maxLeadsPerRequest must be a whole number from 1, got ${String(maxLeads)}.`,
    });
  }
  const maxBodyBytes = Math.max(64 * 1024, maxLeads * 512);
  const reportTo =
    options.onError ?? ((error: Error) => console.error('[calltrack/dialer]', error));
  const onError = (error: unknown): void => reportTo(toError(error));

  const readLeads = async (
    request: Request,
    principal: Required<Pick<Principal, 'tenantId' | 'userId'>>,
  ): Promise<LeadInput[]> => {
    const type = request.headers.get('content-type');
    if (type === null || !isJson(type)) {
      throw new UnsupportedMediaTypeError({ message: 'Send the body as application/json.' });
    }
    const text = await readRequestText(request, { maxBytes: maxBodyBytes });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new InvalidPayloadError({ message: 'The body is not valid JSON.', cause: error });
    }
    const violation = checkJsonLimits(body, { maxDepth: 4, maxLength: maxBodyBytes });
    if (violation) throw new InvalidPayloadError({ message: `The body ${violation.message}.` });
    // A key given twice at one level is ambiguous, as a query parameter given twice is: JSON.parse
    // keeps the last, a proxy or a log may read the first. (Behind express.json() the parser
    // already kept one: the text here is its value written again.)
    const repeated = findRepeatedJsonKey(text);
    if (repeated !== undefined) {
      const { key, path } = repeated;
      const field = key.slice(0, 64);
      if (path.length === 2 && path[0] === 'leads' && typeof path[1] === 'number') {
        throw new InvalidLeadError({
          index: path[1],
          field,
          message: 'is given twice: give each key once',
        });
      }
      throw new InvalidPayloadError({
        message: `The body gives ${JSON.stringify(field)} twice in one object: give each key once.`,
      });
    }
    const leads = (body as { leads?: unknown } | null)?.leads;
    if (body === null || typeof body !== 'object' || !Array.isArray(leads)) {
      throw new InvalidPayloadError({ message: 'The body must be { "leads": [...] }.' });
    }
    for (const field of Object.keys(body)) {
      // A `userId` or `tenantId` beside the leads would be ignored: the leads, added as the
      // caller's own, would not be where the client meant them.
      if (field !== 'leads') {
        throw new InvalidPayloadError({
          message: `${JSON.stringify(field.slice(0, 64))} is not a field of the body: it is { "leads": [...] }, and the tenant and the user come from your credentials.`,
        });
      }
    }
    if (leads.length > maxLeads) {
      throw new InvalidPayloadError({ message: `At most ${maxLeads} leads per request.` });
    }
    // A lead id given twice would be added once, the first kept and the other dropped (a second
    // number, without a word): the request is refused instead, adding nothing.
    const firstIndex = new Map<string, number>();
    return leads.map((lead: unknown, index) => {
      if (lead === null || typeof lead !== 'object' || Array.isArray(lead)) {
        throw new InvalidLeadError({ index, field: 'lead', message: 'must be an object' });
      }
      for (const field of Object.keys(lead)) {
        if (!leadFields.has(field)) {
          // The tenant and the user come from the credentials, never from the body.
          throw new InvalidLeadError({ index, field, message: 'is not a lead field' });
        }
      }
      const { leadId } = lead as { leadId?: unknown };
      if (typeof leadId === 'string') {
        const first = firstIndex.get(leadId);
        if (first !== undefined) {
          throw new InvalidLeadError({
            index,
            field: 'leadId',
            message: `${JSON.stringify(leadId.slice(0, 64))} is given again (as lead ${first}): give each lead once`,
          });
        }
        firstIndex.set(leadId, index);
      }
      return { ...(lead as Omit<LeadInput, 'tenantId' | 'userId'>), ...principal };
    });
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
    if (!principalSchema.safeParse(principal).success) {
      throw new Error('authenticate() returned an invalid principal.');
    }
    const { tenantId, userId } = principal;
    if (userId === undefined) {
      throw new CallTrackError({
        message: 'The dialer works per user: these credentials name no user.',
        code: 'forbidden',
        status: 403,
      });
    }
    const query = readQuery(url.searchParams, route.name === 'leads' ? ['after', 'limit'] : []);

    switch (route.name) {
      case 'leads': {
        if (request.method === 'POST') {
          const { added, existing, conflicts } = await store.addLeads(
            await readLeads(request, { tenantId, userId }),
          );
          if (conflicts.length === 0) return json({ added, existing }, 201);
          // A lead id is the tenant's: another user's lead stays theirs. The rest were added
          // (adding is idempotent: the same list again answers the same ids, added 0).
          const leadIds = conflicts.map((conflict) => conflict.leadId);
          return json(
            {
              error: {
                code: 'lead_conflict',
                message: `${leadIds.length === 1 ? 'Lead' : `${leadIds.length} leads`} ${leadIds.slice(0, 5).join(', ')}${leadIds.length > 5 ? ', …' : ''} ${leadIds.length === 1 ? 'is' : 'are'} another user's in this tenant: left to them (any other lead was added).`,
              },
              conflicts: leadIds,
              added,
              existing,
            },
            409,
          );
        }
        const limit = query.limit === undefined ? 100 : parseLimit(query.limit);
        const leads = await store.listLeads({
          tenantId,
          userId,
          limit,
          ...(query.after === undefined ? {} : { afterLeadId: query.after }),
        });
        return json({
          leads: leads.map(toLeadJson),
          nextAfter: leads.length < limit ? null : leads.at(-1)!.leadId,
        });
      }
      case 'lead': {
        const lead = await store.getLead(tenantId, route.id);
        if (lead === undefined || lead.userId !== userId) {
          throw new NotFoundError({ message: `No lead ${route.id}.` });
        }
        return json({ lead: toLeadJson(lead) });
      }
      case 'runs': {
        // It takes no body: any content type but JSON is 415, as for the leads, so a cross-site
        // HTML form (urlencoded, multipart, text/plain) cannot start a run. A bodyless cross-site
        // fetch can: `allowedOrigins` refuses it above.
        const type = request.headers.get('content-type');
        if (type !== null && !isJson(type)) {
          throw new UnsupportedMediaTypeError({
            message: 'POST /dialer/runs takes no body, or application/json.',
          });
        }
        await refuseBodyFields(
          request,
          'POST /dialer/runs',
          'the tenant and the user come from your credentials',
        );
        const result = await dialer.trigger({ tenantId, userId });
        return json(
          result.outcome === 'started'
            ? { outcome: result.outcome, runId: result.runId }
            : { outcome: result.outcome },
          202,
        );
      }
      case 'run': {
        const run = dialer.getRun(tenantId, route.id);
        if (run === undefined || run.userId !== userId) {
          throw new NotFoundError({ message: `No run ${route.id} here.` });
        }
        return json({ run });
      }
    }
  };

  // A JSON API that checks no signature: behind express.json() the Node bridge hands it the
  // parsed body serialized again, instead of refusing the request as it does for webhooks.
  return acceptParsedJsonBody(async (request: Request): Promise<Response> => {
    try {
      return await handle(request);
    } catch (error) {
      // A 5xx is the operator's to know (Redis refusing writes, a backend down); a 4xx is not.
      if (!CallTrackError.isInstance(error) || error.status >= 500) onError(error);
      return toErrorResponse(error);
    }
  });
}

function json(body: unknown, status = 200): Response {
  return jsonResponse(body, { status, headers: { 'cache-control': 'no-store' } });
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
  if (parts[0] !== 'dialer' || parts.length < 2 || parts.length > 3) return undefined;
  const collection = parts[1];
  if (collection !== 'leads' && collection !== 'runs') return undefined;
  if (parts.length === 2) return { name: collection };
  let id: string;
  try {
    id = decodeURIComponent(parts[2]!);
  } catch {
    return undefined;
  }
  if (id === '' || id.length > 256) return undefined;
  return { name: collection === 'leads' ? 'lead' : 'run', id };
}

/**
 * The query's known parameters, each once; an unknown one (a `tenantId`…) or one given twice is
 * refused, not ignored.
 */
function readQuery(params: URLSearchParams, known: readonly string[]): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!known.includes(name)) {
      throw new InvalidArgumentError({
        message:
          name === 'tenantId' || name === 'userId'
            ? `"${name}" comes from your credentials, not the query.`
            : `Unknown query parameter "${name}".`,
      });
    }
    // Ambiguous: a proxy or a cache in front may read the first, this the last.
    if (name in query) throw new InvalidArgumentError({ message: `"${name}" was given twice.` });
    if (value.length > 256) {
      throw new InvalidArgumentError({ message: `"${name}" is longer than 256 characters.` });
    }
    query[name] = value;
  }
  return query;
}

function parseLimit(value: string): number {
  const limit = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= 500)) {
    throw new InvalidArgumentError({ message: '"limit" must be an integer from 1 to 500.' });
  }
  return limit;
}
