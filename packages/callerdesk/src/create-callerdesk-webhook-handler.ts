import {
  type CallDirection,
  CallTrackError,
  checkResolvedTenant,
  type EventSink,
  type FetchHandlerContext,
  InvalidArgumentError,
  InvalidSignatureError,
  isAllowedClientAddress,
  jsonResponse,
  MissingSignatureError,
  publishEvents,
  type SecretLookupResult,
  toErrorResponse,
  UnknownTenantError,
  type WebhookTenantResolver,
} from '@calltrack/core';
import type { AllowIp } from './allow-ip';
import type { CallerDeskTenant } from './callerdesk-tenant';
import { mapCallerDeskDirection } from './map-callerdesk-direction';
import type { CallerDeskWebhookKind } from './map-callerdesk-status';
import { normalizeCallerDeskPhoneNumber } from './normalize-callerdesk-phone-number';
import { buildCallerDeskEvents } from './parse-callerdesk-webhook';
import {
  type CallerDeskWebhookPayload,
  parseCallerDeskWebhookPayload,
} from './parse-callerdesk-webhook-payload';
import { callerDeskBodyType, readCallerDeskFields } from './read-callerdesk-fields';
import { verifyCallerDeskToken } from './verify-callerdesk-token';

/**
 * Where the webhook URL carries the secret token: a `query` parameter (default, named by
 * `tokenName`, default `token`), a request `header` (named by `tokenName`, default
 * `x-calltrack-token`), the last `path` segment (`/webhooks/callerdesk/<token>`), or a function
 * that reads it from the request.
 */
export type CallerDeskTokenLocation =
  | 'query'
  | 'header'
  | 'path'
  | ((request: Request) => string | null | undefined);

/** What `resolveTenant` is told about a CallerDesk webhook. The values are not verified when `token` is a lookup. */
export interface CallerDeskTenantContext {
  /** `live` or `report`. */
  kind: CallerDeskWebhookKind;
  /** CallerDesk's `CallSid`. */
  callId: string;
  direction: CallDirection | undefined;
  /** The tenant's own number: the virtual number / DID (`DestinationNumber`), E.164. */
  number: string | undefined;
  /** The customer's number (`SourceNumber`), E.164. */
  callerNumber: string | undefined;
  /** The agent's number (`DialWhomNumber`), E.164. */
  agentNumber: string | undefined;
  /** CallerDesk's `account_id`, when sent. */
  accountId: string | undefined;
  /** The click-to-call `campid`, when sent. */
  campaignId: string | undefined;
  /** The request URL: a path like `/webhooks/callerdesk/<tenant>` can name the tenant. */
  url: URL;
  /** The validated payload. */
  payload: CallerDeskWebhookPayload;
  /** The incoming request (headers). */
  request: Request;
}

/** What a per-tenant `token` lookup is told: the tenant context plus the resolved tenant. */
export interface CallerDeskTokenContext extends CallerDeskTenantContext {
  tenant: CallerDeskTenant;
}

/** Maps a webhook to its tenant; `null`/`undefined` answers 422. */
export type CallerDeskTenantResolver = WebhookTenantResolver<CallerDeskTenantContext>;

/** Finds a tenant's webhook token(s); `null`/`undefined` answers 403. */
export type CallerDeskTokenLookup = (context: CallerDeskTokenContext) => SecretLookupResult;

/** Options of {@link createCallerDeskWebhookHandler}. */
export interface CreateCallerDeskWebhookHandlerOptions {
  /**
   * The secret token in the webhook URL (at least 16 characters; several during a rotation), or a
   * lookup for a tenant's token. With a static token, the token is checked before the body is
   * read and `resolveTenant` only sees authenticated requests. With a lookup, the payload is
   * parsed and `resolveTenant` runs first (on unauthenticated data, so it must not have side
   * effects), then the lookup gets the resolved tenant and the token is compared before anything
   * is published.
   */
  token: string | readonly string[] | CallerDeskTokenLookup;
  /** Where the events go: the bus, the tracker, or anything with `publish(event)`. */
  sink: EventSink;
  /**
   * Maps the webhook to `{ tenantId, branchId?, agentId?, userId? }`, typically by
   * `context.number` (the called virtual number), `context.accountId` or a path segment of
   * `context.url`. `null` answers 422.
   */
  resolveTenant: CallerDeskTenantResolver;
  /** Where the token is; default `query`. */
  tokenLocation?: CallerDeskTokenLocation;
  /** The query parameter (default `token`) or header (default `x-calltrack-token`) holding the token. */
  tokenName?: string;
  /** `live` or `report` when this URL receives only one of CallerDesk's two webhooks; detected otherwise. */
  kind?: CallerDeskWebhookKind;
  /**
   * Accept only these client addresses, or decide per request (403 otherwise). CallerDesk
   * publishes no address list; use this with addresses you observed, or your proxy's.
   */
  allowIp?: AllowIp;
  /** Largest body accepted, in bytes (413 above it). Default 64 KiB. */
  maxBodyBytes?: number;
  /** Attach the original fields (without a query token) to every event as `raw` (personal data). Default false. */
  includeRaw?: boolean;
  /** The clock, in milliseconds since the epoch; for tests. Defaults to `Date.now`. */
  now?: () => number;
  /** Called with every error that ends a request (4xx and 5xx), for logging. Must not throw. */
  onError?: (error: unknown, request: Request) => void;
}

/** A fetch handler: `(Request, { clientAddress }?) => Promise<Response>`. */
export type CallerDeskWebhookHandler = (
  request: Request,
  context?: FetchHandlerContext,
) => Promise<Response>;

/** Default `maxBodyBytes`: 64 KiB. */
const defaultMaxBodyBytes = 64 * 1024;

/** Shortest static token accepted: anything shorter is guessable. */
const minimumTokenLength = 16;

/**
 * Creates the fetch handler for CallerDesk's Live Call and Call Report webhooks, delivered by GET
 * (query string) or POST (form, multipart or JSON). It checks the method (405), client address
 * (403), content type (415), the secret token (401 missing, 403 wrong), body size (413) and
 * payload (400), maps the call to its tenant (422 when `resolveTenant` returns null), turns the
 * payload into `CallEvent`s with `parseCallerDeskWebhook` and publishes them into `sink`.
 *
 * Answers `200 { ok, published, duplicates }` once every event is published, also when all of
 * them were duplicates. Nothing is published in any error case. When the sink fails the answer
 * is 5xx; event ids are deterministic, so a redelivery is safe. The handler never throws.
 *
 * Mount it in Next.js as `export const GET = handler; export const POST = handler`, or in
 * Express / `node:http` with `app.all(path, toNodeHandler(handler))` before any body parser.
 */
export function createCallerDeskWebhookHandler(
  options: CreateCallerDeskWebhookHandlerOptions,
): CallerDeskWebhookHandler {
  const { token, sink, resolveTenant, includeRaw = false, allowIp, onError, kind } = options;
  checkOptions(options);
  const location = options.tokenLocation ?? 'query';
  const tokenName = options.tokenName ?? (location === 'header' ? 'x-calltrack-token' : 'token');
  const maxBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const now = options.now ?? Date.now;

  return async (request, context) => {
    try {
      if (request.method !== 'GET' && request.method !== 'POST') {
        const response = toErrorResponse(
          new CallTrackError({
            message: 'CallerDesk webhooks are GET or POST requests.',
            code: 'method_not_allowed',
            status: 405,
          }),
        );
        response.headers.set('allow', 'GET, POST');
        return response;
      }
      if (!(await isAllowedClientAddress(allowIp, context?.clientAddress, request))) {
        throw new CallTrackError({
          message: 'The client address is not allowed to send CallerDesk webhooks.',
          code: 'address_not_allowed',
          status: 403,
        });
      }
      const bodyType = request.method === 'POST' ? callerDeskBodyType(request) : 'unknown';
      const provided = readToken(request, location, tokenName);
      if (provided === undefined) {
        throw new MissingSignatureError({ message: 'The CallerDesk webhook token is missing.' });
      }
      const verify = (expected: string | readonly string[] | null | undefined) => {
        if (expected == null || !verifyCallerDeskToken({ expected, provided })) {
          throw new InvalidSignatureError({ message: 'The CallerDesk webhook token is wrong.' });
        }
      };
      if (typeof token !== 'function') verify(token);

      const fields = await readCallerDeskFields(request, {
        bodyType,
        maxBytes,
        omit: location === 'query' ? tokenName : undefined,
      });
      const receivedAt = now();
      const payload = parseCallerDeskWebhookPayload(fields, kind === undefined ? {} : { kind });
      const tenantContext = toTenantContext(payload, request);
      const resolved = await resolveTenant(tenantContext);
      if (resolved == null) {
        throw new UnknownTenantError({
          message: 'No tenant is configured for this CallerDesk call (virtual number or account).',
        });
      }
      const tenant = checkResolvedTenant(resolved);
      if (typeof token === 'function') verify(await token({ ...tenantContext, tenant }));

      const events = buildCallerDeskEvents(payload, { tenant, receivedAt, includeRaw });
      return jsonResponse({ ok: true, ...(await publishEvents(sink, events)) });
    } catch (error) {
      report(onError, error, request);
      return toErrorResponse(error);
    }
  };
}

function checkOptions(options: CreateCallerDeskWebhookHandlerOptions): void {
  const fail = (message: string) => {
    throw new InvalidArgumentError({ message: `createCallerDeskWebhookHandler: ${message}` });
  };
  if (options == null || typeof options !== 'object') fail('options are required.');
  const { token } = options;
  if (typeof token !== 'function') {
    const tokens = typeof token === 'string' ? [token] : token;
    if (!Array.isArray(tokens) || tokens.length === 0) fail('token is required.');
    for (const candidate of tokens as readonly unknown[]) {
      if (typeof candidate !== 'string' || candidate.length < minimumTokenLength) {
        fail(`every token must be a string of at least ${minimumTokenLength} characters.`);
      }
    }
  }
  if (typeof options.sink?.publish !== 'function') fail('sink must have a publish(event) method.');
  if (typeof options.resolveTenant !== 'function') fail('resolveTenant must be a function.');
}

function readToken(
  request: Request,
  location: CallerDeskTokenLocation,
  name: string,
): string | undefined {
  let value: string | null | undefined;
  if (typeof location === 'function') {
    value = location(request);
  } else if (location === 'header') {
    value = request.headers.get(name);
  } else {
    const url = new URL(request.url);
    if (location === 'query') {
      value = url.searchParams.get(name);
    } else {
      const segment = url.pathname
        .split('/')
        .filter((part) => part !== '')
        .at(-1);
      try {
        value = segment === undefined ? undefined : decodeURIComponent(segment);
      } catch {
        value = segment;
      }
    }
  }
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function toTenantContext(
  payload: CallerDeskWebhookPayload,
  request: Request,
): CallerDeskTenantContext {
  const { fields } = payload;
  return {
    kind: payload.kind,
    callId: payload.callId,
    direction: mapCallerDeskDirection(fields.Direction),
    number: normalizeCallerDeskPhoneNumber(fields.DestinationNumber),
    callerNumber: normalizeCallerDeskPhoneNumber(fields.SourceNumber),
    agentNumber: normalizeCallerDeskPhoneNumber(fields.DialWhomNumber),
    accountId: fields.account_id,
    campaignId: fields.campid,
    url: new URL(request.url),
    payload,
    request,
  };
}

function report(
  onError: CreateCallerDeskWebhookHandlerOptions['onError'],
  error: unknown,
  request: Request,
): void {
  if (onError === undefined) return;
  try {
    onError(error, request);
  } catch {
    // A failing logger must not turn a clean 4xx into a crash.
  }
}
