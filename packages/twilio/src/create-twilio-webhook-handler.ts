import {
  type CallDirection,
  type CallEvent,
  CallTrackError,
  type EventSink,
  type FetchHandler,
  InvalidPayloadError,
  InvalidSignatureError,
  jsonResponse,
  MissingSignatureError,
  parseFormPairs,
  publishEvents,
  readRequestText,
  type SecretLookupResult,
  someSecret,
  toErrorResponse,
  UnknownTenantError,
  UnsupportedMediaTypeError,
  type WebhookTenantResolver,
} from '@calltrack/core';
import { mapTwilioDirection } from './map-twilio-direction';
import { normalizeTwilioPhoneNumber } from './normalize-twilio-phone-number';
import { readTwilioWebhook } from './parse-twilio-webhook';
import { verifyTwilioSignature } from './verify-twilio-signature';

/** What the Auth Token lookup learns about a request before its signature is checked. */
export interface TwilioAuthTokenContext {
  /**
   * The `AccountSid` the request claims to come from (unverified: it is only trusted once the
   * signature made with that account's token checks out). Undefined when the body has none.
   */
  accountSid: string | undefined;
  /** The URL Twilio signed, as rebuilt from `publicUrl`. */
  url: URL;
  /** The incoming request; its body is already consumed. */
  request: Request;
}

/**
 * Finds the Auth Token for a request, e.g. per Twilio subaccount:
 * `({ accountSid }) => tokensByAccount.get(accountSid)`. Several tokens are accepted during a
 * rotation. Returning nothing answers 403.
 */
export type TwilioAuthTokenLookup = (context: TwilioAuthTokenContext) => SecretLookupResult;

/** What {@link CreateTwilioWebhookHandlerOptions.resolveTenant} gets: the verified webhook. */
export interface TwilioTenantContext {
  /** Every parameter of the (verified) webhook; first value of a repeated name. */
  params: Readonly<Record<string, string>>;
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

/** Options of {@link createTwilioWebhookHandler}. */
export interface CreateTwilioWebhookHandlerOptions {
  /**
   * The Auth Token the signatures are made with: a string for one account, several while you
   * rotate it (Twilio's primary and secondary token: a signature made with any of them passes), or
   * a lookup (sync or async) that receives the request's claimed `AccountSid` for several
   * accounts or subaccounts.
   */
  authToken: string | readonly string[] | TwilioAuthTokenLookup;
  /** Where the events go (the bus, the tracker…). Publish must be idempotent by `event.id`. */
  sink: EventSink;
  /**
   * Maps a verified webhook to its tenant. Return `null`/`undefined` for an unknown one (answered
   * 422, nothing published). Called only after the signature checked out.
   */
  resolveTenant: WebhookTenantResolver<TwilioTenantContext>;
  /**
   * The public URL Twilio calls, for apps behind a proxy, load balancer or tunnel where
   * `request.url` is not what Twilio signed. A string is a base (`https://hooks.example.com` or
   * `https://example.com/app`): the request's path and query are appended to it. A function
   * returns the full URL for a request. Default: `request.url` as received.
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
   * Called with every error that is answered 5xx (a failing sink, a throwing lookup), for
   * logging. Errors thrown here are ignored.
   */
  onError?: (error: unknown, request: Request) => void;
}

const formType = 'application/x-www-form-urlencoded';
const jsonType = 'application/json';

/**
 * Creates the fetch handler (`(Request) => Promise<Response>`) for Twilio voice callbacks: call
 * status, recording status and async AMD. Mount it where `StatusCallback`,
 * `RecordingStatusCallback` and `AsyncAmdStatusCallback` point; in Express or `node:http` through
 * core's `toNodeHandler`, in Next.js as the route's `POST` export.
 *
 * Per request, in this order: 405 unless `POST`; 401 without `X-Twilio-Signature`; 415 unless
 * `application/x-www-form-urlencoded` (or `application/json` when the URL carries `bodySHA256`);
 * 413 over `maxBodyBytes`; 403 when the signature does not match the token of the claimed
 * `AccountSid`; 400 for a payload missing a required field; 422 when `resolveTenant` knows no
 * tenant. Then every event is published and the answer is **200 `{ ok, published, duplicates }`** (also when the
 * events were duplicates: Twilio retried). A failing sink answers 5xx so Twilio retries. Nothing
 * is published on any error, and errors never escape the handler.
 *
 * Twilio ignores the body of status callback answers (the JSON is for your logs and tests);
 * do not use this handler as a voice `Url`, which must answer TwiML.
 */
export function createTwilioWebhookHandler(
  options: CreateTwilioWebhookHandlerOptions,
): (request: Request) => Promise<Response> {
  const maxBytes = options.maxBodyBytes ?? 64 * 1024;
  const handler = async (request: Request): Promise<Response> => {
    try {
      return await handle(request, options, maxBytes);
    } catch (error) {
      return errorResponse(error, request, options);
    }
  };
  return handler satisfies FetchHandler;
}

async function handle(
  request: Request,
  options: CreateTwilioWebhookHandlerOptions,
  maxBytes: number,
): Promise<Response> {
  if (request.method !== 'POST') {
    return jsonResponse(
      { error: { code: 'method_not_allowed', message: 'Twilio webhooks must be POST requests.' } },
      { status: 405, headers: { allow: 'POST' } },
    );
  }
  const signature = request.headers.get('x-twilio-signature');
  if (signature === null || signature.trim() === '') {
    throw new MissingSignatureError({ message: 'The X-Twilio-Signature header is missing.' });
  }
  const url = signedUrl(request, options);
  const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const isJson = mediaType === jsonType || mediaType.endsWith('+json');
  if (isJson ? !url.searchParams.has('bodySHA256') : mediaType !== formType) {
    throw new UnsupportedMediaTypeError({
      message: isJson
        ? 'JSON Twilio webhooks must carry the bodySHA256 query parameter.'
        : `Twilio webhooks must be ${formType} (or JSON with bodySHA256).`,
    });
  }
  const body = await readRequestText(request, { maxBytes });

  let formParams: FormFields | undefined;
  let jsonParams: Record<string, string> | undefined;
  let jsonError: unknown;
  if (isJson) {
    try {
      jsonParams = jsonToParams(JSON.parse(body));
    } catch (error) {
      jsonError = error;
    }
  } else {
    formParams = readFormFields(body);
  }
  const claimedAccountSid = formParams?.first.AccountSid ?? jsonParams?.AccountSid ?? undefined;

  const authTokens =
    typeof options.authToken === 'function'
      ? await options.authToken({ accountSid: claimedAccountSid, url, request })
      : options.authToken;
  const valid = someSecret(authTokens, (authToken) =>
    verifyTwilioSignature({
      authToken,
      url: url.href,
      signature,
      ...(isJson ? { body } : { params: formParams!.all }),
    }),
  );
  if (!valid) {
    throw new InvalidSignatureError({ message: 'The X-Twilio-Signature does not match.' });
  }

  if (isJson && jsonParams === undefined) {
    throw new InvalidPayloadError({
      message: 'The request body is not a JSON object.',
      cause: jsonError,
    });
  }
  const params: Record<string, string> = jsonParams ?? formParams!.first;
  // Validate the payload before asking for the tenant, so a malformed body is a 400, not a 422.
  const buildEvents = readTwilioWebhook(params);

  const tenant = await options.resolveTenant({
    params,
    accountSid: params.AccountSid,
    callSid: params.CallSid,
    direction: mapTwilioDirection(params.Direction),
    from: normalizeTwilioPhoneNumber(params.From ?? params.Caller),
    to: normalizeTwilioPhoneNumber(params.To ?? params.Called),
    url,
    request,
  });
  if (tenant == null) {
    throw new UnknownTenantError({ message: 'No tenant is configured for this Twilio webhook.' });
  }
  let events: CallEvent[];
  try {
    events = buildEvents({ tenant, includeRaw: options.includeRaw === true });
  } catch (error) {
    // The payload parsed a moment ago, so this is a bad tenant from resolveTenant: a server bug.
    throw new ServerSideError(error);
  }
  try {
    return jsonResponse({ ok: true, ...(await publishEvents(options.sink, events)) });
  } catch (error) {
    throw new ServerSideError(error);
  }
}

/** Marks an error that must be answered 5xx whatever it is, so Twilio retries. */
class ServerSideError {
  constructor(readonly cause: unknown) {}
}

function errorResponse(
  error: unknown,
  request: Request,
  options: CreateTwilioWebhookHandlerOptions,
): Response {
  const serverSide = error instanceof ServerSideError;
  const cause = serverSide ? error.cause : error;
  const status = CallTrackError.isInstance(cause) ? cause.status : 500;
  if (serverSide || status >= 500) {
    try {
      options.onError?.(cause, request);
    } catch {
      // A failing logger must not turn into a crash.
    }
    if (status < 500) return toErrorResponse(new Error('internal'));
  }
  return toErrorResponse(cause);
}

function signedUrl(request: Request, options: CreateTwilioWebhookHandlerOptions): URL {
  const { publicUrl } = options;
  const received = new URL(request.url);
  if (typeof publicUrl === 'function') return new URL(publicUrl(request));
  if (typeof publicUrl === 'string') {
    const base = publicUrl.replace(/\/+$/, '');
    return new URL(`${base}${received.pathname}${received.search}`);
  }
  if (options.trustForwardedHeaders === true) {
    const proto = firstHeaderValue(request.headers.get('x-forwarded-proto'));
    const host = firstHeaderValue(request.headers.get('x-forwarded-host'));
    if (proto !== undefined && /^https?$/i.test(proto)) received.protocol = `${proto}:`;
    if (host !== undefined) received.host = host;
  }
  return received;
}

function firstHeaderValue(value: string | null): string | undefined {
  const first = value?.split(',')[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/** A form body's fields: every value (what the signature covers) and the first of each name. */
interface FormFields {
  all: Record<string, string | string[]>;
  first: Record<string, string>;
}

function readFormFields(body: string): FormFields {
  // A null prototype: a field named `__proto__` or `constructor` is just a field to sign.
  const all: Record<string, string | string[]> = Object.create(null);
  const first: Record<string, string> = {};
  for (const [name, value] of parseFormPairs(body)) {
    const seen = all[name];
    if (seen === undefined) {
      all[name] = value;
      first[name] = value;
    } else if (Array.isArray(seen)) seen.push(value);
    else all[name] = [seen, value];
  }
  return { all, first };
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
