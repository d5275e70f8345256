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
  someSecret,
} from '@calltrack/core/internal';
import { buildRetellEvents } from './build-retell-events';
import { mapRetellDirection } from './map-retell-direction';
import { normalizeRetellPhoneNumber } from './normalize-retell-phone-number';
import { parseRetellWebhookPayload } from './parse-retell-webhook-payload';
import type { RetellTenant } from './retell-tenant';
import type { RetellCall, RetellWebhookPayload } from './retell-webhook-payload-schema';
import { verifyRetellSignature } from './verify-retell-signature';

/** What `resolveTenant` is told about a Retell webhook. The values are not yet verified when `apiKey` is a lookup. */
export interface RetellTenantContext {
  /** The webhook's event name, e.g. `call_ended`. */
  event: string;
  /** Retell's call id. */
  callId: string;
  /** Retell's agent id. */
  agentId: string | undefined;
  direction: CallDirection | undefined;
  /** Caller number (E.164). */
  from: string | undefined;
  /** Callee number (E.164). */
  to: string | undefined;
  /**
   * The tenant's own number: `to_number` for an inbound call, `from_number` for an outbound one
   * (your Retell number either way). `undefined` for web calls.
   */
  number: string | undefined;
  /** The `metadata` object given when the call was created, if any. */
  metadata: unknown;
  /** The validated payload. */
  payload: RetellWebhookPayload;
  /** The incoming request (headers, URL); its body is already consumed. Built when first read. */
  request: Request;
}

/** What a per-tenant `apiKey` lookup is told: the tenant context plus the resolved tenant. */
export interface RetellApiKeyContext extends RetellTenantContext {
  tenant: RetellTenant;
}

/**
 * Maps a webhook to its tenant; `null`/`undefined` answers 422, or with an `apiKey` lookup the
 * 403 of a wrong signature.
 */
export type RetellTenantResolver = WebhookTenantResolver<RetellTenantContext>;

/** Finds the Retell API key(s) of a tenant (several during a rotation); `null`/`undefined` answers 403. */
export type RetellApiKeyLookup = (context: RetellApiKeyContext) => SecretLookupResult;

/** Options of {@link createRetellWebhookHandler}. */
export interface CreateRetellWebhookHandlerOptions {
  /**
   * The Retell API key with the "webhook" badge (several while you rotate keys: a signature made
   * with any of them passes), or a lookup for a tenant's key (one Retell workspace per tenant).
   * With a string, the signature is verified before anything else is looked at and
   * `resolveTenant` only ever sees verified payloads. With a lookup, the payload is
   * parsed and `resolveTenant` runs first (on unverified data, so it must not have side effects),
   * then the lookup gets the resolved tenant and the signature is verified before anything is
   * published; an unknown tenant, or one without a key, answers the 403 of a wrong signature.
   */
  apiKey: string | readonly string[] | RetellApiKeyLookup;
  /** Where the events go: the bus, the tracker, or anything with `publish(event)`. */
  sink: EventSink;
  /**
   * Maps the webhook to `{ tenantId, branchId?, agentId?, userId? }`, typically by
   * `context.number` (your Retell number) or `context.agentId`. `null` answers 422; with an
   * `apiKey` lookup, the same 403 as a wrong signature (the caller is not verified yet, and must
   * not learn which numbers belong to tenants), with the 422 error as its `cause` for `onError`.
   */
  resolveTenant: RetellTenantResolver;
  /**
   * Largest body accepted, in bytes (413 above it). Default 2 MiB: `call_ended`/`call_analyzed`
   * carry the whole transcript with word timings, which exceeds 256 KiB on calls of 15-20 minutes.
   */
  maxBodyBytes?: number;
  /** Attach the original payload to every event as `raw` (personal data). Default false. */
  includeRaw?: boolean;
  /** Accept only these client addresses (see `retellWebhookIpAddresses`), or decide per request. 403 otherwise. */
  allowIp?: AllowClientAddress;
  /**
   * Request budgets per client address and per tenant (429 with `Retry-After` once spent), with
   * `rate-limiter-flexible` limiters (memory or Redis). See `WebhookRateLimit` in core.
   */
  rateLimit?: WebhookRateLimit;
  /** Largest accepted distance between the signing time and now, in ms. Default 300000 (5 minutes). */
  toleranceMs?: number;
  /** Where the handler reads the time (`receivedAt` and the signature's age); for tests. Default `Date.now`. */
  clock?: Clock;
  /**
   * Called with every error that ends a request (4xx and 5xx; a `CallTrackError` carries its
   * `status` and `code`), and with a rate limiter's failure, for logging. Errors it throws are
   * ignored.
   */
  onError?: WebhookErrorHandler;
}

/** A fetch handler: `(Request, { clientAddress }?) => Promise<Response>`; it never throws. */
export type RetellWebhookHandler = WebhookHandler;

/** Default `maxBodyBytes`: 2 MiB. */
const defaultMaxBodyBytes = 2 * 1024 * 1024;

/**
 * Creates the fetch handler for Retell's call webhooks. From the method and headers alone, before
 * a byte of the body is read: the method (405), client address (`allowIp`, 403), per-address
 * budget (`rateLimit`, 429), content type (415), `x-retell-signature` (401 missing, 400 sent twice
 * with different values) and a declared length over `maxBodyBytes` (413). Then the body (413 past
 * the limit), the signature (403 wrong or expired), the payload (400: malformed, or a field nested
 * deeper than 16 levels such as a runaway `call.metadata`), the tenant (422 when `resolveTenant`
 * returns null; with an `apiKey` lookup the 403 of a wrong signature), the tenant's budget (429),
 * and the events (`parseRetellWebhook`) are published into `sink`.
 *
 * Answers `200 { ok, published, duplicates }` once every event is published, also when all of
 * them were duplicates (a retried webhook) and when the event is one calltrack does not map
 * (`chat_*`, `call_inbound`: nothing published; with an `apiKey` lookup such events are answered
 * without verification, since they name no call to find a tenant by). Nothing is published in any
 * error case. When the sink fails the answer is 5xx, so Retell retries; retries are safe because
 * event ids are deterministic. The handler never throws; invalid options throw
 * `InvalidArgumentError` when it is created.
 *
 * Mount it in Next.js as `export const POST = handler`, or in Express / `node:http` with
 * `toNodeHandler(handler)` from `@calltrack/core/node`, before any body parser. Behind
 * `toNodeHandler` it runs straight on Node's request, with the same checks and answers, and
 * builds a `Request` only if a callback reads `context.request`.
 */
export function createRetellWebhookHandler(
  options: CreateRetellWebhookHandlerOptions,
): RetellWebhookHandler {
  checkWebhookHandlerOptions('createRetellWebhookHandler', options, { name: 'apiKey' });
  const { apiKey, sink, resolveTenant, includeRaw = false, toleranceMs } = options;
  if (
    toleranceMs !== undefined &&
    !(typeof toleranceMs === 'number' && Number.isFinite(toleranceMs) && toleranceMs >= 0)
  ) {
    // NaN (`Number(process.env.UNSET)`) or a negative tolerance would refuse every webhook (403).
    throw new InvalidArgumentError({
      message: 'createRetellWebhookHandler: toleranceMs must be a non-negative number.',
    });
  }
  // A key nobody signs with, checked in place of the key an unknown tenant does not have.
  const decoyApiKey = `decoy-${globalThis.crypto.randomUUID()}`;
  const maxBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const { clock } = options;
  const now = clock === undefined ? Date.now : () => clock.now();

  return createIncomingWebhookEndpoint(
    {
      provider: 'Retell',
      methods: ['POST'],
      allowIp: options.allowIp,
      rateLimit: options.rateLimit,
      onError: options.onError,
    },
    async (incoming, endpoint) => {
      if (!isJsonContentType(incoming.header('content-type'))) {
        throw new UnsupportedMediaTypeError({
          message: 'Retell webhooks must be sent as application/json.',
        });
      }
      const signature = singleCredential(
        signaturesIn(incoming.header('x-retell-signature')),
        'the x-retell-signature header',
      );
      if (signature === undefined) {
        throw new MissingSignatureError({ message: 'The x-retell-signature header is missing.' });
      }
      const body = await incoming.readText(maxBytes);
      const receivedAt = now();
      // One answer for a wrong signature, a tenant without a key and (with a lookup) an unknown
      // tenant, so unverified callers cannot tell which numbers belong to tenants. `onError`
      // gets the real reason as the `cause`.
      const refuse = (cause?: unknown) =>
        new InvalidSignatureError({
          message: 'The x-retell-signature header does not match the body, or has expired.',
          ...(cause === undefined ? {} : { cause }),
        });
      const signedWith = (keys: Secrets | null | undefined) =>
        someSecret(keys, (key) =>
          verifyRetellSignature({
            apiKey: key,
            body,
            signature,
            now: receivedAt,
            ...(toleranceMs === undefined ? {} : { toleranceMs }),
          }),
        );
      const verify = (keys: Secrets | null | undefined) => {
        if (!signedWith(keys)) throw refuse();
      };
      // Refused as a wrong signature is, after the same HMAC over the body: the time of the
      // answer does not tell an unknown number, or a tenant without a key, from a known one.
      const refuseAfterDecoyCheck = (cause: unknown) => {
        signedWith(decoyApiKey);
        return refuse(cause);
      };
      if (typeof apiKey !== 'function') verify(apiKey);

      const payload = parseRetellWebhookPayload(body);
      if (payload.call === undefined) {
        return { ok: true, published: 0, duplicates: 0, ignored: payload.event };
      }
      const tenantContext = new TenantContext(payload, payload.call, incoming);
      const tenant = await resolveWebhookTenant(
        resolveTenant,
        tenantContext,
        'No tenant is configured for this Retell call (number or agent).',
      ).catch((error: unknown) => {
        throw typeof apiKey === 'function' && UnknownTenantError.isInstance(error)
          ? refuseAfterDecoyCheck(error)
          : error;
      });
      if (typeof apiKey === 'function') {
        const keys = await apiKey(new ApiKeyContext(payload, payload.call, incoming, tenant));
        if (!someSecret(keys, () => true)) {
          throw refuseAfterDecoyCheck(
            new Error('No Retell API key is configured for this tenant.'),
          );
        }
        verify(keys);
      }
      await endpoint.limitTenant(tenant.tenantId);

      const events = buildRetellEvents(payload, { tenant, receivedAt, includeRaw });
      return { ok: true, ...(await publishEvents(sink, events)) };
    },
  );
}

/**
 * The signatures in an `x-retell-signature` header. One signature holds a comma itself
 * (`v=<ms>,d=<hex>`), and a repeated header arrives joined with ", ", so `v=`/`d=` pairs are
 * regrouped: two different pairs are an ambiguous request, not a signature to pick from.
 */
function signaturesIn(header: string | undefined): string[] {
  if (header === undefined) return [];
  const parts = header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const signatures: string[] = [];
  for (let index = 0; index < parts.length; index += 1) {
    const part = parts[index]!;
    const next = parts[index + 1];
    if (/^v=/i.test(part) && next !== undefined && /^d=/i.test(next)) {
      signatures.push(`${part},${next}`);
      index += 1;
    } else {
      signatures.push(part);
    }
  }
  return signatures;
}

/**
 * What `resolveTenant` gets. The `Request` is built only if the app reads `request` (behind
 * `toNodeHandler` the handler runs on Node's request and builds none otherwise). A class rather
 * than an object literal with a getter: a literal's getter is defined at run time on every webhook.
 */
class TenantContext implements RetellTenantContext {
  readonly event: string;
  readonly callId: string;
  readonly agentId: string | undefined;
  readonly direction: CallDirection | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly number: string | undefined;
  readonly metadata: unknown;
  readonly payload: RetellWebhookPayload;
  readonly #incoming: IncomingWebhook;

  constructor(payload: RetellWebhookPayload, call: RetellCall, incoming: IncomingWebhook) {
    const direction = mapRetellDirection(call.direction);
    const fromNumber = normalizeRetellPhoneNumber(call.from_number);
    const toNumber = normalizeRetellPhoneNumber(call.to_number);
    this.event = payload.event;
    this.callId = call.call_id;
    this.agentId = call.agent_id ?? undefined;
    this.direction = direction;
    this.from = fromNumber;
    this.to = toNumber;
    this.number =
      direction === 'inbound' ? toNumber : direction === 'outbound' ? fromNumber : undefined;
    this.metadata = call.metadata;
    this.payload = payload;
    this.#incoming = incoming;
  }

  get request(): Request {
    return this.#incoming.request;
  }
}

/** What a per-tenant `apiKey` lookup gets: the tenant context and the resolved tenant. */
class ApiKeyContext extends TenantContext implements RetellApiKeyContext {
  readonly tenant: RetellTenant;

  constructor(
    payload: RetellWebhookPayload,
    call: RetellCall,
    incoming: IncomingWebhook,
    tenant: RetellTenant,
  ) {
    super(payload, call, incoming);
    this.tenant = tenant;
  }
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}
