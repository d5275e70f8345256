import { signRetellWebhook } from '@calltrack/retell';
import { computeTwilioSignature } from '@calltrack/twilio';
import type { ScriptedWebhook } from './call-script';
import type { SimulatorCredentials } from './demo-credentials';

/** Options of {@link createSignedRequest}. */
export interface CreateSignedRequestOptions {
  /**
   * The full URL of the provider's webhook endpoint, e.g. `http://localhost:3000/webhooks/twilio`.
   * Twilio signs exactly this URL; CallerDesk's token is added to its query. A webhook with its
   * own `url` (a callback URL its call named) goes there instead.
   */
  url: string;
  /** The secrets to sign with. */
  credentials: SimulatorCredentials;
  /** Retell's signing time, milliseconds since the epoch; defaults to now (Retell allows ±5 minutes). */
  now?: number;
  /** How CallerDesk delivers: `POST` with a JSON body (default) or `GET` with a query string. */
  callerDeskMethod?: 'GET' | 'POST';
}

/** A request ready for `fetch(url, init)`. @internal */
export interface PreparedRequest {
  url: string;
  /** The URL for logs: without CallerDesk's GET fields (personal data), its token as `***`. */
  displayUrl: string;
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string };
}

const userAgent = 'calltrack-simulator';

/**
 * Turns a scripted webhook into the `Request` its provider would send, signed the provider's
 * way with the providers' own functions:
 *
 * - Twilio: form body, `X-Twilio-Signature` from `computeTwilioSignature` over the URL and the
 *   parameters;
 * - Retell: JSON body, `x-retell-signature` from `signRetellWebhook` (timestamp = `now`);
 * - CallerDesk: the token as `?token=` in the URL; the fields as a JSON body (POST) or in the
 *   query (GET).
 *
 * Useful to feed a fetch handler in-process, without a server: `await handler(createSignedRequest(webhook, options))`.
 */
export function createSignedRequest(
  webhook: ScriptedWebhook,
  options: CreateSignedRequestOptions,
): Request {
  const { url, init } = prepareSignedRequest(webhook, options);
  return new Request(url, init);
}

/** {@link createSignedRequest} as a URL and `RequestInit`. @internal */
export function prepareSignedRequest(
  webhook: ScriptedWebhook,
  options: CreateSignedRequestOptions,
): PreparedRequest {
  const { payload } = webhook;
  const { credentials } = options;
  const url = new URL(webhook.url ?? options.url);
  for (const [name, value] of Object.entries(webhook.query ?? {}))
    url.searchParams.set(name, value);
  switch (payload.type) {
    case 'form': {
      // Twilio signs the URL it requests, which fetch sends in its WHATWG serialization.
      const signature = computeTwilioSignature({
        authToken: credentials.twilioAuthToken,
        url: url.href,
        params: payload.params,
      });
      return {
        url: url.href,
        displayUrl: url.href,
        init: {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'user-agent': userAgent,
            'x-twilio-signature': signature,
          },
          body: new URLSearchParams(payload.params).toString(),
        },
      };
    }
    case 'json': {
      const signature = signRetellWebhook({
        apiKey: credentials.retellApiKey,
        body: payload.body,
        timestamp: Math.round(options.now ?? Date.now()),
      });
      return {
        url: url.href,
        displayUrl: url.href,
        init: {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': userAgent,
            'x-retell-signature': signature,
          },
          body: payload.body,
        },
      };
    }
    case 'fields': {
      const display = new URL(url);
      display.searchParams.set('token', '***');
      url.searchParams.set('token', credentials.callerDeskToken);
      if (options.callerDeskMethod === 'GET') {
        for (const [name, value] of Object.entries(payload.fields)) {
          url.searchParams.set(name, value);
        }
        return {
          url: url.href,
          displayUrl: display.href,
          init: { method: 'GET', headers: { 'user-agent': userAgent } },
        };
      }
      return {
        url: url.href,
        displayUrl: display.href,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': userAgent },
          body: JSON.stringify(payload.fields),
        },
      };
    }
  }
}

/** What came back from one HTTP delivery. @internal */
export interface SendResult {
  /** HTTP status; 0 when no answer arrived (network error, timeout, abort). */
  status: number;
  ok: boolean;
  /** The answer's JSON body when it had one, else its text (up to 2,000 characters). */
  response: unknown;
  /** Why it failed: the handler's error message, or the network error. */
  error: string | undefined;
  /** Milliseconds from sending to the end of the answer. */
  ms: number;
  /** True when the delivery was aborted by the caller. */
  aborted: boolean;
  /** True when no answer came within `timeoutMs`. */
  timedOut: boolean;
}

/** Sends a prepared request and reads the whole answer. @internal */
export async function sendPreparedRequest(
  request: PreparedRequest,
  options: { fetch: typeof fetch; timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<SendResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal =
    options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  try {
    const answer = await options.fetch(request.url, { ...request.init, signal });
    const text = await answer.text();
    const response = parseAnswer(text);
    return {
      status: answer.status,
      ok: answer.ok,
      response,
      error: answer.ok ? undefined : (errorMessage(response) ?? `HTTP ${answer.status}`),
      ms: performance.now() - started,
      aborted: false,
      timedOut: false,
    };
  } catch (error) {
    const aborted = options.signal?.aborted === true;
    return {
      timedOut: !aborted && timeout.aborted,
      status: 0,
      ok: false,
      response: undefined,
      error: aborted
        ? 'aborted'
        : timeout.aborted
          ? `no answer within ${options.timeoutMs} ms`
          : networkMessage(error),
      ms: performance.now() - started,
      aborted,
    };
  }
}

function parseAnswer(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  }
}

function errorMessage(response: unknown): string | undefined {
  if (response === null || typeof response !== 'object') {
    return typeof response === 'string' && response !== '' ? response.slice(0, 200) : undefined;
  }
  const error = (response as { error?: unknown }).error;
  if (typeof error === 'string') return error;
  if (error !== null && typeof error === 'object') {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return undefined;
}

/** `fetch failed` hides the reason in `cause` (ECONNREFUSED, ENOTFOUND…). */
function networkMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause !== undefined && typeof cause === 'object') {
    if (typeof cause.code === 'string')
      return `${cause.code}: ${String(cause.message ?? '')}`.trim();
    if (typeof cause.message === 'string') return cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
