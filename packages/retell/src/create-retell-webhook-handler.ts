import {
  type CallDirection,
  CallTrackError,
  checkResolvedTenant,
  type EventSink,
  type FetchHandlerContext,
  InvalidArgumentError,
  InvalidSignatureError,
  isAllowedClientAddress,
  isSecretList,
  jsonResponse,
  MissingSignatureError,
  publishEvents,
  readRequestText,
  type SecretLookupResult,
  someSecret,
  toErrorResponse,
  UnknownTenantError,
  UnsupportedMediaTypeError,
  type WebhookTenantResolver,
} from '@calltrack/core';
import type { AllowIp } from './allow-ip';
import { mapRetellDirection } from './map-retell-direction';
import { normalizeRetellPhoneNumber } from './normalize-retell-phone-number';
import { buildRetellEvents } from './parse-retell-webhook';
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
  fromNumber: string | undefined;
  /** Callee number (E.164). */
  toNumber: string | undefined;
  /**
   * The tenant's own number: `to_number` for an inbound call, `from_number` for an outbound one
   * (your Retell number either way). `undefined` for web calls.
   */
  number: string | undefined;
  /** The `metadata` object given when the call was created, if any. */
  metadata: unknown;
  /** The validated payload. */
  payload: RetellWebhookPayload;
  /** The incoming request (headers, URL). */
  request: Request;
}

/** What a per-tenant `apiKey` lookup is told: the tenant context plus the resolved tenant. */
export interface RetellApiKeyContext extends RetellTenantContext {
  tenant: RetellTenant;
}

/** Maps a webhook to its tenant; `null`/`undefined` answers 422. */
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
   * published.
   */
  apiKey: string | readonly string[] | RetellApiKeyLookup;
  /** Where the events go: the bus, the tracker, or anything with `publish(event)`. */
  sink: EventSink;
  /**
   * Maps the webhook to `{ tenantId, branchId?, agentId?, userId? }`, typically by
   * `context.number` (your Retell number) or `context.agentId`. `null` answers 422.
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
  allowIp?: AllowIp;
  /** Largest accepted distance between the signing time and now, in ms. Default 300000 (5 minutes). */
  toleranceMs?: number;
  /** The clock, in milliseconds since the epoch; for tests. Defaults to `Date.now`. */
  now?: () => number;
  /** Called with every error that ends a request (4xx and 5xx), for logging. Must not throw. */
  onError?: (error: unknown, request: Request) => void;
}

/** A fetch handler: `(Request, { clientAddress }?) => Promise<Response>`. */
export type RetellWebhookHandler = (
  request: Request,
  context?: FetchHandlerContext,
) => Promise<Response>;

/** Default `maxBodyBytes`: 2 MiB. */
const defaultMaxBodyBytes = 2 * 1024 * 1024;

/**
 * Creates the fetch handler for Retell's call webhooks: checks the method (405), client address
 * (403), content type (415), `x-retell-signature` (401 missing, 403 wrong or expired), body size
 * (413) and payload (400), maps the call to its tenant (422 when `resolveTenant` returns null),
 * turns the payload into `CallEvent`s with `parseRetellWebhook` and publishes them into
 * `sink`.
 *
 * Answers `200 { ok, published, duplicates }` once every event is published, also when all of
 * them were duplicates (a retried webhook) and when the event is one calltrack does not map
 * (`chat_*`, `call_inbound`: nothing published; with an `apiKey` lookup such events are answered
 * without verification, since they name no call to find a tenant by). Nothing is published in any
 * error case. When the sink fails the answer is 5xx, so Retell retries; retries are safe because
 * event ids are deterministic. The handler never throws.
 *
 * Mount it in Next.js as `export const POST = handler`, or in Express / `node:http` with
 * `toNodeHandler(handler)` before any body parser.
 */
export function createRetellWebhookHandler(
  options: CreateRetellWebhookHandlerOptions,
): RetellWebhookHandler {
  checkOptions(options);
  const {
    apiKey,
    sink,
    resolveTenant,
    includeRaw = false,
    allowIp,
    toleranceMs,
    onError,
  } = options;
  const maxBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const now = options.now ?? Date.now;

  return async (request, context) => {
    try {
      if (request.method !== 'POST') {
        const response = toErrorResponse(
          new CallTrackError({
            message: 'Retell webhooks are POST requests.',
            code: 'method_not_allowed',
            status: 405,
          }),
        );
        response.headers.set('allow', 'POST');
        return response;
      }
      if (!(await isAllowedClientAddress(allowIp, context?.clientAddress, request))) {
        throw new CallTrackError({
          message: 'The client address is not allowed to send Retell webhooks.',
          code: 'address_not_allowed',
          status: 403,
        });
      }
      if (!isJsonContentType(request.headers.get('content-type'))) {
        throw new UnsupportedMediaTypeError({
          message: 'Retell webhooks must be sent as application/json.',
        });
      }
      const signature = request.headers.get('x-retell-signature');
      if (signature === null || signature.trim() === '') {
        throw new MissingSignatureError({ message: 'The x-retell-signature header is missing.' });
      }
      const body = await readRequestText(request, { maxBytes });
      const receivedAt = now();
      const verify = (keys: string | readonly string[] | null | undefined) => {
        const valid = someSecret(keys, (key) =>
          verifyRetellSignature({
            apiKey: key,
            body,
            signature: signature.trim(),
            now: receivedAt,
            ...(toleranceMs === undefined ? {} : { toleranceMs }),
          }),
        );
        if (!valid) {
          throw new InvalidSignatureError({
            message: 'The x-retell-signature header does not match the body, or has expired.',
          });
        }
      };
      if (typeof apiKey !== 'function') verify(apiKey);

      const payload = parseRetellWebhookPayload(body);
      if (payload.call === undefined) {
        return jsonResponse({ ok: true, published: 0, duplicates: 0, ignored: payload.event });
      }
      const tenantContext = toTenantContext(payload, payload.call, request);
      const resolved = await resolveTenant(tenantContext);
      if (resolved == null) {
        throw new UnknownTenantError({
          message: 'No tenant is configured for this Retell call (number or agent).',
        });
      }
      const tenant = checkResolvedTenant(resolved);
      if (typeof apiKey === 'function') {
        const keys = await apiKey({ ...tenantContext, tenant });
        if (keys == null || keys === '' || (Array.isArray(keys) && keys.length === 0)) {
          throw new InvalidSignatureError({
            message: 'No Retell API key is configured for this tenant.',
          });
        }
        verify(keys);
      }

      const events = buildRetellEvents(payload, { tenant, receivedAt, includeRaw });
      return jsonResponse({ ok: true, ...(await publishEvents(sink, events)) });
    } catch (error) {
      report(onError, error, request);
      return toErrorResponse(error);
    }
  };
}

function checkOptions(options: CreateRetellWebhookHandlerOptions): void {
  const fail = (message: string) => {
    throw new InvalidArgumentError({ message: `createRetellWebhookHandler: ${message}` });
  };
  if (options == null || typeof options !== 'object') fail('options are required.');
  const { apiKey } = options;
  if (typeof apiKey !== 'function' && !isSecretList(apiKey)) {
    fail('apiKey must be a non-empty string, a non-empty list of them, or a lookup function.');
  }
  if (typeof options.sink?.publish !== 'function') fail('sink must have a publish(event) method.');
  if (typeof options.resolveTenant !== 'function') fail('resolveTenant must be a function.');
}

function toTenantContext(
  payload: RetellWebhookPayload,
  call: RetellCall,
  request: Request,
): RetellTenantContext {
  const direction = mapRetellDirection(call.direction);
  const fromNumber = normalizeRetellPhoneNumber(call.from_number);
  const toNumber = normalizeRetellPhoneNumber(call.to_number);
  return {
    event: payload.event,
    callId: call.call_id,
    agentId: call.agent_id ?? undefined,
    direction,
    fromNumber,
    toNumber,
    number: direction === 'inbound' ? toNumber : direction === 'outbound' ? fromNumber : undefined,
    metadata: call.metadata,
    payload,
    request,
  };
}

function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

function report(
  onError: CreateRetellWebhookHandlerOptions['onError'],
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
