import {
  type AllowClientAddress,
  type CallDirection,
  type Clock,
  type EventSink,
  InvalidArgumentError,
  InvalidPayloadError,
  InvalidSignatureError,
  MissingSignatureError,
  publishEvents,
  resolveWebhookTenant,
  type SecretLookupResult,
  type Secrets,
  singleCredential,
  UnknownTenantError,
  UnsupportedMediaTypeError,
  type WebhookErrorHandler,
  type WebhookHandler,
  type WebhookRateLimit,
  type WebhookTenantResolver,
} from '@calltrack/core';
import {
  checkWebhookHandlerOptions,
  createIncomingWebhookEndpoint,
  type IncomingWebhook,
  parseFormPairs,
  someSecret,
} from '@calltrack/core/internal';
import { buildTwilioEvents } from './build-twilio-events';
import { mapTwilioDirection } from './map-twilio-direction';
import { normalizeTwilioPhoneNumber } from './normalize-twilio-phone-number';
import { parseTwilioParamRecord, type TwilioWebhookPayload } from './parse-twilio-webhook-payload';
import { serializeTwilioParamPairs } from './serialize-twilio-params';
import type { TwilioTenant } from './twilio-tenant';
import {
  readBodySha256,
  twilioSignatureMatches,
  verifyTwilioSignature,
} from './verify-twilio-signature';

/**
 * What {@link CreateTwilioWebhookHandlerOptions.resolveTenant} gets: the verified webhook, or with
 * an `authToken` lookup the webhook whose signature is checked next, with the tenant's token.
 */
export interface TwilioTenantContext {
  /** Every parameter of the (verified) webhook; first value of a repeated name. */
  params: Readonly<Record<string, string>>;
  /** The `AccountSid` (a signed parameter). Undefined when the body has none. */
  accountSid: string | undefined;
  callSid: string | undefined;
  /** Normalized direction, when Twilio sent one (recording and AMD callbacks do not). */
  direction: CallDirection | undefined;
  /** `From` (or `Caller`), E.164 where derivable. */
  from: string | undefined;
  /** `To` (or `Called`), E.164 where derivable: the tenant's number on inbound calls. */
  to: string | undefined;
  /**
   * The signed URL. A tenant id in its query (`…/twilio?tenant=acme`) is covered by the
   * signature, and it is the only tenant hint recording and AMD callbacks carry.
   */
  url: URL;
  request: Request;
}

/**
 * What an Auth Token lookup gets: the webhook as `resolveTenant` saw it (not yet verified), plus
 * the tenant `resolveTenant` returned for it.
 */
export interface TwilioAuthTokenContext extends TwilioTenantContext {
  /** The tenant the webhook names: return that tenant's token(s). */
  tenant: TwilioTenant;
}

/**
 * Finds the Auth Token(s) of the tenant a webhook names, e.g. one Twilio account or subaccount
 * per tenant: `({ tenant }) => authTokensByTenant.get(tenant.tenantId)`. Several tokens are
 * accepted (a rotation, or a tenant's several subaccounts). Returning nothing answers 403.
 */
export type TwilioAuthTokenLookup = (context: TwilioAuthTokenContext) => SecretLookupResult;

/** Options of {@link createTwilioWebhookHandler}. */
export interface CreateTwilioWebhookHandlerOptions {
  /**
   * The Auth Token the signatures are made with: a string for one account, several while you
   * rotate it (Twilio's primary and secondary token: a signature made with any of them passes), or
   * a lookup (sync or async) for the tenant's token, when tenants have accounts or subaccounts of
   * their own. With a string or a list, the signature is checked before `resolveTenant` runs.
   * With a lookup, the payload is parsed and `resolveTenant` runs first (on unverified data, so it
   * must not have side effects), then the lookup gets the resolved tenant, and the signature is
   * checked with that tenant's token before anything is published: a tenant's own token signs
   * nothing into another tenant.
   */
  authToken: string | readonly string[] | TwilioAuthTokenLookup;
  /** Where the events go (the bus, the tracker…). Publish must be idempotent by `event.id`. */
  sink: EventSink;
  /**
   * Maps a webhook to its tenant. Return `null`/`undefined` for an unknown one (answered 422,
   * nothing published; 403, as a wrong signature, when `authToken` is a lookup). Called only
   * after the signature checked out, unless `authToken` is a lookup (see there).
   */
  resolveTenant: WebhookTenantResolver<TwilioTenantContext>;
  /**
   * The public URL Twilio calls, for apps behind a proxy, load balancer or tunnel where
   * `request.url` is not what Twilio signed. A string may be either of:
   *
   * - the full webhook URL, as typed into the Twilio console
   *   (`https://hooks.example.com/webhooks/twilio`, with its query if it has one, and its
   *   connection overrides `#rc=3&rp=ct,rt,5xx` if it has them: a signature made with or without
   *   that fragment passes); the request's query, when it has one, is the one Twilio signed;
   * - a base (`https://hooks.example.com`, `https://example.com/app`) to which the request's path
   *   and query are appended: one setting for several webhook URLs.
   *
   * Both readings are tried (the one that fits the request's path first), and the signature
   * decides. A function returns the full URL for a request. The host is checked as written here,
   * capitals included (Twilio signs it as configured; `request.url` lowercases it), and in lower
   * case. Default: `request.url` as received.
   */
  publicUrl?: string | ((request: Request) => string | URL);
  /**
   * Rebuild the URL's protocol and host from `X-Forwarded-Proto` / `X-Forwarded-Host` (first
   * value). Off by default: anyone can send those headers unless your own proxy overwrites them.
   * Ignored when `publicUrl` is set.
   */
  trustForwardedHeaders?: boolean;
  /** Largest body accepted, in bytes; larger ones are answered 413. Default 65536 (64 KiB). */
  maxBodyBytes?: number;
  /** Attach the original parameters as `raw` on every event (personal data). Default false. */
  includeRaw?: boolean;
  /**
   * Where the handler reads the time (`receivedAt`, also `occurredAt` when Twilio sends no
   * `Timestamp`); for tests. Default `Date.now`.
   */
  clock?: Clock;
  /** Accept only these client addresses, or decide per request (403 otherwise). */
  allowIp?: AllowClientAddress;
  /**
   * Request budgets per client address and per tenant (429 with `Retry-After` once spent), with
   * `rate-limiter-flexible` limiters (memory or Redis). See `WebhookRateLimit` in core.
   */
  rateLimit?: WebhookRateLimit;
  /**
   * Called with every error that ends a request (4xx and 5xx; a `CallTrackError` carries its
   * `status` and `code`), and with a rate limiter's failure, for logging. Errors it throws are
   * ignored.
   */
  onError?: WebhookErrorHandler;
}

const unknownTenant = 'No tenant is configured for this Twilio webhook.';

function invalidSignature(cause?: unknown): InvalidSignatureError {
  return new InvalidSignatureError({
    message: 'The X-Twilio-Signature does not match.',
    ...(cause === undefined ? {} : { cause }),
  });
}

const formType = 'application/x-www-form-urlencoded';
const jsonType = 'application/json';

/** A fetch handler: `(Request, { clientAddress }?) => Promise<Response>`; it never throws. */
export type TwilioWebhookHandler = WebhookHandler;

/**
 * Creates the fetch handler (`(Request) => Promise<Response>`) for Twilio voice callbacks: call
 * status, recording status and async AMD. Mount it where `StatusCallback`,
 * `RecordingStatusCallback` and `AsyncAmdStatusCallback` point; in Express or `node:http` through
 * `toNodeHandler` from `@calltrack/core/node`, in Next.js as the route's `POST` export.
 *
 * From the method and headers alone, before a byte of the body is read: 405 unless `POST`; 403
 * for a client address outside `allowIp`; 429 once the address spent its budget; 401 without
 * `X-Twilio-Signature`; 400 for two different signatures (or `bodySHA256` values); 415 unless
 * `application/x-www-form-urlencoded` (or `application/json` when the URL carries `bodySHA256`);
 * 413 for a declared length over `maxBodyBytes`. Then: 413 past the limit while reading; 403 when
 * the signature does not match the Auth Token; 400 for a payload missing a required field or with
 * a parameter over 16 KiB; 422 when `resolveTenant` knows no tenant; 429 once the tenant spent its
 * budget. With an `authToken` lookup, the payload (400) comes before the signature (403), which
 * is checked with the token of the tenant `resolveTenant` named; a tenant it does not know is
 * answered as a wrong signature (403, the 422 as the `cause`), so unverified callers cannot probe
 * which numbers belong to tenants. Then every event is published and the answer is **200
 * `{ ok, published, duplicates }`** (also when the events were duplicates: Twilio retried). A
 * failing sink answers 5xx so Twilio retries. Nothing is published on any error, and errors never
 * escape the handler; invalid options throw `InvalidArgumentError` when it is created.
 *
 * Twilio ignores the body of status callback answers (the JSON is for your logs and tests);
 * do not use this handler as a voice `Url`, which must answer TwiML.
 */
export function createTwilioWebhookHandler(
  options: CreateTwilioWebhookHandlerOptions,
): TwilioWebhookHandler {
  checkWebhookHandlerOptions('createTwilioWebhookHandler', options, { name: 'authToken' });
  const signedUrls = signedUrlsFor(options);
  const { authToken, sink, resolveTenant } = options;
  // A token nobody signs with, checked in place of the one an unknown tenant does not have.
  const decoyAuthToken = `decoy-${globalThis.crypto.randomUUID()}`;
  const includeRaw = options.includeRaw === true;
  const { clock } = options;
  const maxBytes = options.maxBodyBytes ?? 64 * 1024;

  return createIncomingWebhookEndpoint(
    {
      provider: 'Twilio',
      methods: ['POST'],
      allowIp: options.allowIp,
      rateLimit: options.rateLimit,
      onError: options.onError,
    },
    async (incoming, endpoint) => {
      const signature = singleCredential(
        (incoming.header('x-twilio-signature') ?? '').split(','),
        'the X-Twilio-Signature header',
      );
      if (signature === undefined) {
        throw new MissingSignatureError({ message: 'The X-Twilio-Signature header is missing.' });
      }
      const urls = signedUrls(incoming);
      const contentType = incoming.header('content-type') ?? '';
      const parameters = contentType.indexOf(';');
      const mediaType = (parameters === -1 ? contentType : contentType.slice(0, parameters))
        .trim()
        .toLowerCase();
      const isJson = mediaType === jsonType || mediaType.endsWith('+json');
      // Most callbacks have no query at all: only parse one that mentions the parameter.
      const bodyHash = urls[0]!.url.search.includes('bodySHA256')
        ? singleCredential(
            urls[0]!.url.searchParams.getAll('bodySHA256'),
            'the bodySHA256 query parameter',
          )
        : undefined;
      if (isJson ? bodyHash === undefined : mediaType !== formType) {
        throw new UnsupportedMediaTypeError({
          message: isJson
            ? 'JSON Twilio webhooks must carry the bodySHA256 query parameter.'
            : `Twilio webhooks must be ${formType} (or JSON with bodySHA256).`,
        });
      }
      const content = readTwilioBody(await incoming.readText(maxBytes), isJson);

      let url: URL | undefined;
      let params: Readonly<Record<string, string>>;
      let payload: TwilioWebhookPayload;
      let tenant: TwilioTenant | undefined;
      if (typeof authToken !== 'function') {
        for (const candidate of urls) {
          if (!isSignedFor(candidate.href, authToken, signature, content)) continue;
          url = candidate.url;
          break;
        }
        if (url === undefined) throw invalidSignature();
        params = paramsOf(content);
        // Validated before asking for the tenant, so a malformed body is a 400, not a 422.
        payload = parseTwilioParamRecord(params);
        tenant = await resolveWebhookTenant(
          resolveTenant,
          new TenantContext(params, url, incoming),
          unknownTenant,
        );
      } else {
        // The token is the tenant's: the tenant is resolved first, from what the request says,
        // and its token checked. Each URL the request may have been signed for is tried with
        // the tenant it names, so `resolveTenant` always saw the URL that verified.
        params = paramsOf(content);
        payload = parseTwilioParamRecord(params);
        let unknown: unknown;
        let named = false;
        for (const { url: candidate, href } of urls) {
          let candidateTenant: TwilioTenant;
          try {
            candidateTenant = await resolveWebhookTenant(
              resolveTenant,
              new TenantContext(params, candidate, incoming),
              unknownTenant,
            );
          } catch (error) {
            // Another reading of the URL may name a tenant.
            if (!UnknownTenantError.isInstance(error)) throw error;
            unknown ??= error;
            // The HMAC a known tenant's wrong signature costs: the time of the answer does not
            // tell which numbers belong to tenants.
            isSignedFor(href, decoyAuthToken, signature, content);
            continue;
          }
          named = true;
          const tokens = await authToken(
            new AuthTokenContext(params, candidate, incoming, candidateTenant),
          );
          // A tenant without a token is checked against the decoy too.
          const usable = someSecret(tokens, () => true);
          if (isSignedFor(href, usable ? tokens : decoyAuthToken, signature, content) && usable) {
            url = candidate;
            tenant = candidateTenant;
            break;
          }
        }
        // No tenant named is answered as a wrong signature, so unverified callers cannot tell
        // which numbers belong to tenants; `onError` gets the 422 as the `cause`.
        if (url === undefined || tenant === undefined) {
          throw named ? invalidSignature() : invalidSignature(unknown);
        }
      }
      await endpoint.limitTenant(tenant.tenantId);
      // The reference `createTwilioCallControl` put in the callback URL: signed with the rest.
      const reference =
        url.search === '' ? undefined : (url.searchParams.get('reference') ?? undefined);
      const events = buildTwilioEvents(payload, {
        tenant,
        includeRaw,
        receivedAt: clock === undefined ? undefined : new Date(clock.now()),
        reference,
      });
      const { published, duplicates } = await publishEvents(sink, events);
      return { ok: true, published, duplicates };
    },
  );
}

/**
 * What `resolveTenant` gets. The request is built only if the app reads it (most resolvers look at
 * the number or the URL). A class rather than an object literal with a getter: a literal's getter
 * is defined at run time on every webhook.
 */
class TenantContext implements TwilioTenantContext {
  readonly params: Readonly<Record<string, string>>;
  readonly accountSid: string | undefined;
  readonly callSid: string | undefined;
  readonly direction: CallDirection | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly url: URL;
  readonly #incoming: IncomingWebhook;

  constructor(params: Readonly<Record<string, string>>, url: URL, incoming: IncomingWebhook) {
    this.params = params;
    this.accountSid = params.AccountSid;
    this.callSid = params.CallSid;
    this.direction = mapTwilioDirection(params.Direction);
    this.from = normalizeTwilioPhoneNumber(params.From ?? params.Caller);
    this.to = normalizeTwilioPhoneNumber(params.To ?? params.Called);
    this.url = url;
    this.#incoming = incoming;
  }

  get request(): Request {
    return this.#incoming.request;
  }
}

/** What an `authToken` lookup gets: the tenant context and the resolved tenant. */
class AuthTokenContext extends TenantContext implements TwilioAuthTokenContext {
  readonly tenant: TwilioTenant;

  constructor(
    params: Readonly<Record<string, string>>,
    url: URL,
    incoming: IncomingWebhook,
    tenant: TwilioTenant,
  ) {
    super(params, url, incoming);
    this.tenant = tenant;
  }
}

/**
 * A URL a request may have been signed for: `url` for the app (`resolveTenant`, the reference),
 * `href` for the signature, with the host spelled as the app typed it in `publicUrl`.
 */
interface SignedUrl {
  url: URL;
  href: string;
}

/**
 * The URLs a request may have been signed for, most likely first: see `publicUrl`. Checks the
 * option once, when the handler is created.
 */
function signedUrlsFor(
  options: CreateTwilioWebhookHandlerOptions,
): (incoming: IncomingWebhook) => SignedUrl[] {
  const { publicUrl } = options;
  const fail = (message: string): never => {
    throw new InvalidArgumentError({ message: `createTwilioWebhookHandler: ${message}` });
  };
  if (typeof publicUrl === 'function') {
    return (incoming) => {
      const given = publicUrl(incoming.request);
      const url = new URL(given);
      return [{ url, href: typeof given === 'string' ? spelledAsTyped(url, given) : url.href }];
    };
  }
  if (typeof publicUrl === 'string') {
    let configured: URL | undefined;
    try {
      configured = new URL(publicUrl);
    } catch {
      // reported below
    }
    if (configured === undefined || !/^https?:$/.test(configured.protocol)) {
      return fail('publicUrl must be an absolute http(s) URL, or a function.');
    }
    const configuredPath = configured.pathname.replace(/\/+$/, '');
    // A fragment (connection overrides, `#rc=3&rp=ct,rt,5xx`) is kept: Twilio never sends it, and
    // whether its signature covers it is not documented (twilio-node signs the URL it is given,
    // fragment included), so the signature is checked with it and without it (`twilioUrlVariants`).
    return (incoming) => {
      const received = new URL(incoming.url);
      // Full: the console URL itself; Twilio signed the query it sent, when it sent one.
      const full = new URL(configured.href);
      if (received.search !== '') full.search = received.search;
      // Base: the request's path and query appended.
      const base = new URL(configured.href);
      base.pathname = `${configuredPath}${received.pathname}`;
      base.search = received.search;
      const fullUrl = { url: full, href: spelledAsTyped(full, publicUrl) };
      if (full.href === base.href) return [fullUrl];
      const baseUrl = { url: base, href: spelledAsTyped(base, publicUrl) };
      const looksFull = received.pathname !== '/' && configuredPath.endsWith(received.pathname);
      return looksFull ? [fullUrl, baseUrl] : [baseUrl, fullUrl];
    };
  }
  if (publicUrl !== undefined) fail('publicUrl must be an absolute http(s) URL, or a function.');
  if (
    options.trustForwardedHeaders !== undefined &&
    typeof options.trustForwardedHeaders !== 'boolean'
  ) {
    fail('trustForwardedHeaders must be a boolean.');
  }
  if (options.trustForwardedHeaders !== true) return (incoming) => [asReceived(incoming.url)];
  return (incoming) => {
    const received = new URL(incoming.url);
    const proto = firstHeaderValue(incoming.header('x-forwarded-proto'));
    const host = firstHeaderValue(incoming.header('x-forwarded-host'));
    if (proto !== undefined && /^https?$/i.test(proto)) received.protocol = `${proto}:`;
    if (host !== undefined) received.host = host;
    return [{ url: received, href: received.href }];
  };
}

/** The request's own URL: nothing the app typed to spell it by. */
function asReceived(href: string): SignedUrl {
  const url = new URL(href);
  return { url, href: url.href };
}

/**
 * `url.href` with its host name spelled as in `typed`, the URL the app wrote: Twilio signs the
 * URL as configured, capitals in the host included, and `new URL` lowercases the host.
 */
function spelledAsTyped(url: URL, typed: string): string {
  const typedHost = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)/i.exec(typed)?.[1];
  // Only the case can differ: anything else is another host (a base's, or none).
  if (typedHost === undefined || typedHost === url.hostname) return url.href;
  if (typedHost.toLowerCase() !== url.hostname) return url.href;
  const at = url.href.indexOf(url.hostname, url.protocol.length);
  return at === -1
    ? url.href
    : `${url.href.slice(0, at)}${typedHost}${url.href.slice(at + url.hostname.length)}`;
}

function firstHeaderValue(value: string | undefined): string | undefined {
  const first = value?.split(',')[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/**
 * A webhook's body as the handler uses it: its parameters (first value of a repeated name, frozen:
 * the payload and the app's callbacks share them) and what the signature covers besides the URL.
 */
type TwilioBody =
  | {
      kind: 'form';
      params: Readonly<Record<string, string>>;
      /** Every parameter, repeated names included, serialized as Twilio signs them: once. */
      paramData: string;
    }
  | {
      kind: 'json';
      /** Undefined when the body is not a JSON object (a 400 once the payload is needed). */
      params: Readonly<Record<string, string>> | undefined;
      /** The raw body, bound to the signed URL by its `bodySHA256`. */
      body: string;
      jsonError: unknown;
    };

function readTwilioBody(body: string, isJson: boolean): TwilioBody {
  if (!isJson) {
    const pairs = parseFormPairs(body);
    const params: Record<string, string> = {};
    for (const [name, value] of pairs) {
      // `__proto__` would not become a field of the record: it is signed (below), not read.
      if (name !== '__proto__' && !Object.hasOwn(params, name)) params[name] = value;
    }
    // Serialized after the record is made: it sorts the pairs.
    return {
      kind: 'form',
      params: Object.freeze(params),
      paramData: serializeTwilioParamPairs(pairs),
    };
  }
  try {
    const params = jsonToParams(JSON.parse(body));
    return {
      kind: 'json',
      params: params === undefined ? undefined : Object.freeze(params),
      body,
      jsonError: undefined,
    };
  } catch (error) {
    return { kind: 'json', params: undefined, body, jsonError: error };
  }
}

/** The webhook's parameters; throws `InvalidPayloadError` for a JSON body that is not an object. */
function paramsOf(content: TwilioBody): Readonly<Record<string, string>> {
  if (content.params !== undefined) return content.params;
  throw new InvalidPayloadError({
    message: 'The request body is not a JSON object.',
    cause: content.kind === 'json' ? content.jsonError : undefined,
  });
}

/** True when one of `tokens` signed the webhook for `href` (or a spelling of it Twilio uses). */
function isSignedFor(
  href: string,
  tokens: Secrets | null | undefined,
  signature: string,
  content: TwilioBody,
): boolean {
  if (content.kind === 'json') {
    return someSecret(tokens, (secret) =>
      verifyTwilioSignature({ authToken: secret, url: href, signature, body: content.body }),
    );
  }
  // A URL carrying `bodySHA256` signs a JSON body by its hash, never a form (as
  // `verifyTwilioSignature` answers); and no signature is that long.
  if (readBodySha256(href) !== undefined || signature.length > 256) return false;
  const { paramData } = content;
  return someSecret(tokens, (secret) => twilioSignatureMatches(secret, href, paramData, signature));
}

/** Top-level primitives of a JSON object as strings, the way a form body would carry them. */
function jsonToParams(value: unknown): Record<string, string> | undefined {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    if (typeof item === 'string') record[name] = item;
    else if (typeof item === 'number' || typeof item === 'boolean') record[name] = String(item);
  }
  return record;
}
