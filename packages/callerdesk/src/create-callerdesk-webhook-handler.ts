import type { Clock } from '@calltrack/core';
import {
  type AllowClientAddress,
  type CallDirection,
  type EventSink,
  InvalidArgumentError,
  InvalidSignatureError,
  MissingSignatureError,
  publishEvents,
  resolveWebhookTenant,
  type SecretLookupResult,
  singleCredential,
  UnknownTenantError,
  type WebhookErrorHandler,
  type WebhookHandler,
  type WebhookRateLimit,
  type WebhookTenantResolver,
} from '@calltrack/core';
import {
  checkWebhookHandlerOptions,
  createIncomingWebhookEndpoint,
  type IncomingWebhook,
  someSecret,
} from '@calltrack/core/internal';
import { buildCallerDeskEvents } from './build-callerdesk-events';
import type { CallerDeskTenant } from './callerdesk-tenant';
import type { CallerDeskWebhookKind } from './callerdesk-webhook-kind';
import { mapCallerDeskDirection } from './map-callerdesk-direction';
import { normalizeCallerDeskPhoneNumber } from './normalize-callerdesk-phone-number';
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
  /** The incoming request (headers); its body is already consumed. Built when first read. */
  request: Request;
}

/** What a per-tenant `token` lookup is told: the tenant context plus the resolved tenant. */
export interface CallerDeskTokenContext extends CallerDeskTenantContext {
  tenant: CallerDeskTenant;
}

/**
 * Maps a webhook to its tenant; `null`/`undefined` answers 422, or with a `token` lookup the 403
 * of a wrong token.
 */
export type CallerDeskTenantResolver = WebhookTenantResolver<CallerDeskTenantContext>;

/** Finds a tenant's webhook token(s); `null`/`undefined` answers 403. */
export type CallerDeskTokenLookup = (context: CallerDeskTokenContext) => SecretLookupResult;

/** Options of {@link createCallerDeskWebhookHandler}. */
export interface CreateCallerDeskWebhookHandlerOptions {
  /**
   * The secret token in the webhook URL (at least 16 characters, no commas; several during a
   * rotation), or a lookup for a tenant's token (a looked-up token under 16 characters is never
   * accepted: the request is refused as with a wrong token, and `onError`'s cause says why).
   * With a static token, the token is checked before the body is read and `resolveTenant` only
   * sees authenticated requests. With a lookup, the payload is
   * parsed and `resolveTenant` runs first (on unauthenticated data, so it must not have side
   * effects), then the lookup gets the resolved tenant and the token is compared before anything
   * is published; an unknown tenant, or one without a token, answers the 403 of a wrong token.
   */
  token: string | readonly string[] | CallerDeskTokenLookup;
  /** Where the events go: the bus, the tracker, or anything with `publish(event)`. */
  sink: EventSink;
  /**
   * Maps the webhook to `{ tenantId, branchId?, agentId?, userId? }`, typically by
   * `context.number` (the called virtual number), `context.accountId` or a path segment of
   * `context.url`. `null` answers 422; with a `token` lookup, the same 403 as a wrong token (the
   * caller is not authenticated yet, and must not learn which numbers belong to tenants), with
   * the 422 error as its `cause` for `onError`.
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
  allowIp?: AllowClientAddress;
  /**
   * Request budgets per client address and per tenant (429 with `Retry-After` once spent), with
   * `rate-limiter-flexible` limiters (memory or Redis). See `WebhookRateLimit` in core.
   */
  rateLimit?: WebhookRateLimit;
  /** Largest body accepted, in bytes (413 above it). Default 64 KiB. */
  maxBodyBytes?: number;
  /**
   * Attach the original fields to every event as `raw` (personal data). Default false. A field
   * whose value is the token (a query or form field, whichever `tokenLocation`) is left out.
   */
  includeRaw?: boolean;
  /** Where the handler reads the time (`receivedAt`); for tests. Default `Date.now`. */
  clock?: Clock;
  /**
   * Called with every error that ends a request (4xx and 5xx; a `CallTrackError` carries its
   * `status` and `code`), and with a rate limiter's failure, for logging. Errors it throws are
   * ignored.
   */
  onError?: WebhookErrorHandler;
}

/** A fetch handler: `(Request, { clientAddress }?) => Promise<Response>`; it never throws. */
export type CallerDeskWebhookHandler = WebhookHandler;

/** Default `maxBodyBytes`: 64 KiB. */
const defaultMaxBodyBytes = 64 * 1024;

/** Shortest token accepted, static or looked up: anything shorter is guessable. */
const minimumTokenLength = 16;

const tokenLocations: readonly unknown[] = ['query', 'header', 'path'];

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/**
 * Creates the fetch handler for CallerDesk's Live Call and Call Report webhooks, delivered by GET
 * (query string) or POST (form, multipart or JSON). From the method, URL and headers alone,
 * before a byte of the body is read: the method (405), client address (`allowIp`, 403),
 * per-address budget (`rateLimit`, 429), content type (415), the secret token (401 missing, 400
 * given twice with different values, 403 wrong when static) and a declared length over
 * `maxBodyBytes` (413). Then the body (413 past the limit), the payload (400, also for a field
 * nested deeper than 8 levels), the tenant (422 when `resolveTenant` returns null; with a token
 * lookup the 403 of a wrong token), a looked-up token (403), the tenant's budget (429), and the
 * events (`parseCallerDeskWebhook`) are published into `sink`.
 *
 * Answers `200 { ok, published, duplicates }` once every event is published, also when all of
 * them were duplicates. Nothing is published in any error case. When the sink fails the answer
 * is 5xx; event ids are deterministic, so a redelivery is safe. The handler never throws; invalid
 * options throw `InvalidArgumentError` when it is created.
 *
 * Mount it in Next.js as `export const GET = handler; export const POST = handler`, or in
 * Express / `node:http` with `app.all(path, toNodeHandler(handler))` (`@calltrack/core/node`)
 * before any body parser. Behind `toNodeHandler` it runs straight on Node's request, with the
 * same checks and answers, and builds a `Request` only if a callback (`tokenLocation`, a token
 * lookup, `resolveTenant`) reads it.
 */
export function createCallerDeskWebhookHandler(
  options: CreateCallerDeskWebhookHandlerOptions,
): CallerDeskWebhookHandler {
  checkWebhookHandlerOptions('createCallerDeskWebhookHandler', options, {
    name: 'token',
    minimumLength: minimumTokenLength,
  });
  const { token, sink, resolveTenant, includeRaw = false, kind } = options;
  // A token nobody sends, compared in place of the one an unknown tenant does not have.
  const decoyToken = `decoy-${globalThis.crypto.randomUUID()}`;
  const location = options.tokenLocation ?? 'query';
  if (typeof location !== 'function' && !tokenLocations.includes(location)) {
    // Anything else was read as `path`: every webhook refused for a token in the path.
    throw new InvalidArgumentError({
      message: `createCallerDeskWebhookHandler: tokenLocation must be 'query', 'header', 'path' or a function.`,
    });
  }
  if (options.tokenName !== undefined && !isNonEmptyString(options.tokenName)) {
    throw new InvalidArgumentError({
      message: 'createCallerDeskWebhookHandler: tokenName must be a non-empty string.',
    });
  }
  if (kind !== undefined && kind !== 'live' && kind !== 'report') {
    // Anything else was read as `report`: every live webhook would end its call.
    throw new InvalidArgumentError({
      message: `createCallerDeskWebhookHandler: kind must be 'live' or 'report'.`,
    });
  }
  // Static tokens only: a lookup's source text (String(fn)) is no token.
  if (
    location === 'header' &&
    typeof token !== 'function' &&
    [token].flat().some((value) => String(value).includes(','))
  ) {
    // A repeated header arrives joined with ", ": a token with a comma could not be told apart.
    throw new InvalidArgumentError({
      message: 'createCallerDeskWebhookHandler: a token sent in a header cannot contain a comma.',
    });
  }
  const tokenName = options.tokenName ?? (location === 'header' ? 'x-calltrack-token' : 'token');
  const maxBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const { clock } = options;
  const now = clock === undefined ? Date.now : () => clock.now();

  return createIncomingWebhookEndpoint(
    {
      provider: 'CallerDesk',
      methods: ['GET', 'POST'],
      allowIp: options.allowIp,
      rateLimit: options.rateLimit,
      onError: options.onError,
    },
    async (incoming, endpoint) => {
      // Parsed once: the token (query or path), the query's fields and the tenant context read it.
      const url = new URL(incoming.url);
      const bodyType =
        incoming.method === 'POST'
          ? callerDeskBodyType(incoming.header('content-type'))
          : 'unknown';
      const provided = readToken(incoming, url, location, tokenName);
      if (provided === undefined) {
        throw new MissingSignatureError({ message: 'The CallerDesk webhook token is missing.' });
      }
      // One answer for a wrong token, a tenant without one and (with a lookup) an unknown tenant,
      // so unauthenticated callers cannot tell which numbers belong to tenants. `onError` gets
      // the real reason as the `cause`.
      const refuse = (cause?: unknown) =>
        new InvalidSignatureError({
          message: 'The CallerDesk webhook token is wrong.',
          ...(cause === undefined ? {} : { cause }),
        });
      const verify = (
        expected: string | readonly string[] | null | undefined,
        tenantId?: string,
      ) => {
        // A looked-up token under the static minimum is never accepted (a static one throws when
        // the handler is made): a token that short can be guessed from the outside.
        // A header token with a comma is never accepted either: a header arrives split at commas.
        const listed: readonly unknown[] = expected == null ? [] : [expected].flat();
        const unusable = (item: string): string | undefined =>
          item.length < minimumTokenLength
            ? `a token shorter than ${minimumTokenLength} characters for tenant ${tenantId}: it is never accepted (a short token can be guessed). Give the tenant a random token of at least ${minimumTokenLength} characters.`
            : location === 'header' && item.includes(',')
              ? `a token with a comma for tenant ${tenantId}, sent in a header: it is never accepted (a header arrives split at commas). Give the tenant a token without one.`
              : undefined;
        const usable = listed.filter(
          (item): item is string => typeof item === 'string' && unusable(item) === undefined,
        );
        const reason = listed
          .map((item) => (typeof item === 'string' && item !== '' ? unusable(item) : undefined))
          .find((found) => found !== undefined);
        const cause =
          reason === undefined ? undefined : new Error(`The token lookup returned ${reason}`);
        if (!someSecret(usable, () => true)) {
          throw refuseAfterDecoyCheck(
            cause ?? new Error('No token is configured for this tenant.'),
          );
        }
        // As configured (a string or a list) unless a token was left out.
        const compared = usable.length === listed.length ? expected! : usable;
        if (!verifyCallerDeskToken({ expected: compared, provided })) throw refuse(cause);
      };
      // Refused as a wrong token is, after the same comparison (its time grows with the length
      // of the token sent): the answer's time does not tell which numbers belong to tenants.
      const refuseAfterDecoyCheck = (cause: unknown) => {
        verifyCallerDeskToken({ expected: decoyToken, provided });
        return refuse(cause);
      };
      if (typeof token !== 'function') verify(token);

      const fields = await readCallerDeskFields(incoming, {
        url,
        bodyType,
        maxBytes,
        omit: location === 'query' ? tokenName : undefined,
        // However the token came (a `tokenLocation` function may read the query), a field that
        // carries it stays out of the payload and `raw`.
        omitValue: provided,
      });
      const receivedAt = now();
      const payload = parseCallerDeskWebhookPayload(fields, kind === undefined ? {} : { kind });
      const tenant = await resolveWebhookTenant(
        resolveTenant,
        new TenantContext(payload, incoming, url),
        'No tenant is configured for this CallerDesk call (virtual number or account).',
      ).catch((error: unknown) => {
        throw typeof token === 'function' && UnknownTenantError.isInstance(error)
          ? refuseAfterDecoyCheck(error)
          : error;
      });
      if (typeof token === 'function') {
        verify(await token(new TokenContext(payload, incoming, url, tenant)), tenant.tenantId);
      }
      await endpoint.limitTenant(tenant.tenantId);

      const events = buildCallerDeskEvents(payload, { tenant, receivedAt, includeRaw });
      return { ok: true, ...(await publishEvents(sink, events)) };
    },
  );
}

/**
 * The token the request carries, or undefined. A token given twice with different values (query
 * `?token=a&token=b`, or a header repeated, which arrives joined with ", ") is ambiguous: 400.
 */
function readToken(
  incoming: IncomingWebhook,
  url: URL,
  location: CallerDeskTokenLocation,
  name: string,
): string | undefined {
  const what = `the CallerDesk webhook token`;
  if (typeof location === 'function') {
    const value = location(incoming.request);
    return typeof value === 'string' ? singleCredential([value], what) : undefined;
  }
  if (location === 'header') {
    return singleCredential(incoming.header(name.toLowerCase())?.split(',') ?? [], what);
  }
  if (location === 'query') return singleCredential(url.searchParams.getAll(name), what);
  const segment = url.pathname
    .split('/')
    .filter((part) => part !== '')
    .at(-1);
  if (segment === undefined) return undefined;
  try {
    return singleCredential([decodeURIComponent(segment)], what);
  } catch {
    return singleCredential([segment], what);
  }
}

/**
 * What `resolveTenant` gets. The `Request` is built only if the app reads `request` (behind
 * `toNodeHandler` the handler runs on Node's request and builds none otherwise). A class rather
 * than an object literal with a getter: a literal's getter is defined at run time on every webhook.
 */
class TenantContext implements CallerDeskTenantContext {
  readonly kind: CallerDeskWebhookKind;
  readonly callId: string;
  readonly direction: CallDirection | undefined;
  readonly number: string | undefined;
  readonly callerNumber: string | undefined;
  readonly agentNumber: string | undefined;
  readonly accountId: string | undefined;
  readonly campaignId: string | undefined;
  readonly url: URL;
  readonly payload: CallerDeskWebhookPayload;
  readonly #incoming: IncomingWebhook;

  constructor(payload: CallerDeskWebhookPayload, incoming: IncomingWebhook, url: URL) {
    const { fields } = payload;
    this.kind = payload.kind;
    this.callId = payload.callId;
    this.direction = mapCallerDeskDirection(fields.Direction);
    this.number = normalizeCallerDeskPhoneNumber(fields.DestinationNumber);
    this.callerNumber = normalizeCallerDeskPhoneNumber(fields.SourceNumber);
    this.agentNumber = normalizeCallerDeskPhoneNumber(fields.DialWhomNumber);
    this.accountId = fields.account_id;
    this.campaignId = fields.campid;
    this.url = url;
    this.payload = payload;
    this.#incoming = incoming;
  }

  get request(): Request {
    return this.#incoming.request;
  }
}

/** What a per-tenant `token` lookup gets: the tenant context and the resolved tenant. */
class TokenContext extends TenantContext implements CallerDeskTokenContext {
  readonly tenant: CallerDeskTenant;

  constructor(
    payload: CallerDeskWebhookPayload,
    incoming: IncomingWebhook,
    url: URL,
    tenant: CallerDeskTenant,
  ) {
    super(payload, incoming, url);
    this.tenant = tenant;
  }
}
