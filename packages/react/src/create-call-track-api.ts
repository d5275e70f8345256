import {
  type AnalyticsGranularity,
  type CallAnalytics,
  type CallSnapshot,
  callIdPathSegment,
} from '@calltrack/core';
import { CallTrackApiError } from './call-track-api-error';

/** Where the tracker's HTTP API is and how to reach it (`createCallTrackClient({ api })`). */
export interface CallTrackApiOptions {
  /** The API's base, the `basePath` of `createTrackerHandler`: `/api`, or an absolute URL. */
  baseUrl: string;
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch;
  /**
   * Headers for every request, e.g. `{ authorization: 'Bearer …' }`, or a function returning
   * them (sync or async) when a token can change.
   */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
  /** `fetch`'s `credentials`. Default: `same-origin` (the session cookie goes along). */
  credentials?: RequestCredentials;
}

/** What {@link CallTrackApi.placeCall} asks for. */
export interface PlaceCallInput {
  /** `twilio`, `retell` or `callerdesk` (or another provider the server has an adapter for). */
  provider: string;
  /** The number to call, E.164. */
  to: string;
  /** The number to call from; the server's adapter has a default. */
  from?: string;
  /** The agent's number, rung first by providers that do (CallerDesk). */
  agentNumber?: string;
  /**
   * The request id that makes a repeat a no-op. Default: a new random UUID, so every call of
   * `placeCall` is a new call; pass your own to retry one request safely.
   */
  requestId?: string;
}

/** What the server answered to {@link CallTrackApi.placeCall}. */
export interface PlacedCallResult {
  provider: string;
  /** The provider's call id; null when the provider sends it only with its webhooks (CallerDesk). */
  callId: string | null;
  /** The request id, which the provider echoes on the call. */
  reference: string;
}

/** The range {@link CallTrackApi.getAnalytics} reads. */
export interface AnalyticsRange {
  /** Start: a `Date`, milliseconds since the epoch or an ISO 8601 string. Default: `to` − 24 h (hour buckets). */
  from?: Date | number | string;
  /** End (exclusive). Default: now. */
  to?: Date | number | string;
  /** Bucket size. Default `hour`. */
  granularity?: AnalyticsGranularity;
}

/** The tracker HTTP API's call-control, call and analytics routes, from the browser. */
export interface CallTrackApi {
  /** `POST {baseUrl}/calls`. Rejects with a {@link CallTrackApiError}. */
  placeCall(input: PlaceCallInput, options?: { signal?: AbortSignal }): Promise<PlacedCallResult>;
  /**
   * `POST {baseUrl}/calls/:callId/terminate`: resolves with `terminating`, or with the status of a
   * call that had already ended. Rejects with a {@link CallTrackApiError}. With `tenantId` it ends
   * that tenant's call (`?tenantId=`), which only a principal with `allTenants` may ask, as for
   * `getCall`: without it such a principal's call is looked up by id in every tenant.
   */
  terminateCall(
    callId: string,
    options?: { signal?: AbortSignal; tenantId?: string },
  ): Promise<{ callId: string; status: string }>;
  /**
   * `GET {baseUrl}/calls/active/:callId`: the call as the tracker knows it, ended or not (an ended
   * call stays readable for the tracker's retention, 24 hours by default); undefined when the
   * tracker does not know it (404 `not_found`). Rejects with a {@link CallTrackApiError} on
   * other failures. With `tenantId` it reads that tenant's call (`?tenantId=`), which only a
   * principal with `allTenants` (a super-admin console) may ask: the tracker refuses it for
   * others (400 `invalid_argument`).
   */
  getCall(
    callId: string,
    options?: { signal?: AbortSignal; tenantId?: string },
  ): Promise<CallSnapshot | undefined>;
  /** `GET {baseUrl}/calls/analytics`. Rejects with a {@link CallTrackApiError}. */
  getAnalytics(range?: AnalyticsRange, options?: { signal?: AbortSignal }): Promise<CallAnalytics>;
}

/**
 * A small client of the tracker's HTTP API (`createTrackerHandler` with `callControl`): what
 * `useCallControl` and `useAnalytics` use. `createCallTrackClient({ api })` makes one; make your
 * own to use it outside React.
 */
export function createCallTrackApi(options: CallTrackApiOptions): CallTrackApi {
  if (options == null || typeof options.baseUrl !== 'string' || options.baseUrl === '') {
    throw new TypeError('createCallTrackApi: baseUrl is required, e.g. "/api".');
  }
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchImplementation = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  const send = async <Answer>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Answer> => {
    const extra = typeof options.headers === 'function' ? await options.headers() : options.headers;
    const headers = new Headers(extra);
    headers.set('accept', 'application/json');
    if (body !== undefined) headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await fetchImplementation(`${base}${path}`, {
        method,
        headers,
        credentials: options.credentials ?? 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new CallTrackApiError({
        message: `The calltrack API did not answer: ${error instanceof Error ? error.message : String(error)}`,
        code: 'network_error',
        status: 0,
        cause: error,
      });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = (json as { error?: Record<string, unknown> } | undefined)?.error ?? {};
      throw new CallTrackApiError({
        message:
          typeof error.message === 'string'
            ? error.message
            : `The calltrack API answered ${response.status}.`,
        code: typeof error.code === 'string' ? error.code : 'http_error',
        status: response.status,
        ...(typeof error.retryable === 'boolean' ? { retryable: error.retryable } : {}),
        ...(typeof error.provider === 'string' ? { provider: error.provider } : {}),
      });
    }
    if (json === undefined) {
      throw new CallTrackApiError({
        message: `The calltrack API answered ${response.status} without JSON.`,
        code: 'invalid_answer',
        status: response.status,
      });
    }
    return json as Answer;
  };

  return {
    async placeCall(input, callOptions) {
      const answer = await send<{ call: PlacedCallResult }>(
        'POST',
        '/calls',
        {
          provider: input.provider,
          to: input.to,
          ...(input.from === undefined ? {} : { from: input.from }),
          ...(input.agentNumber === undefined ? {} : { agentNumber: input.agentNumber }),
          requestId: input.requestId ?? createRequestId(),
        },
        callOptions?.signal,
      );
      return answer.call;
    },
    terminateCall(callId, callOptions) {
      return send(
        'POST',
        `/calls/${callIdPathSegment(callId)}/terminate${tenantQuery(callOptions?.tenantId)}`,
        undefined,
        callOptions?.signal,
      );
    },
    async getCall(callId, callOptions) {
      try {
        const answer = await send<{ call: CallSnapshot }>(
          'GET',
          `/calls/active/${callIdPathSegment(callId)}${tenantQuery(callOptions?.tenantId)}`,
          undefined,
          callOptions?.signal,
        );
        return answer.call;
      } catch (error) {
        // The tracker's own answer for a call it does not know (not a 404 page of another server).
        if (CallTrackApiError.isInstance(error) && error.code === 'not_found') return undefined;
        throw error;
      }
    },
    getAnalytics(range = {}, callOptions) {
      const query = new URLSearchParams();
      if (range.from !== undefined) query.set('from', timeParam(range.from));
      if (range.to !== undefined) query.set('to', timeParam(range.to));
      if (range.granularity !== undefined) query.set('granularity', range.granularity);
      const search = query.toString() === '' ? '' : `?${query}`;
      return send('GET', `/calls/analytics${search}`, undefined, callOptions?.signal);
    },
  };
}

function timeParam(value: Date | number | string): string {
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * A random UUID (v4): `crypto.randomUUID` where the page has it (secure contexts), else built
 * from `crypto.getRandomValues` (plain-HTTP pages on a LAN address lack `randomUUID`).
 */
function createRequestId(): string {
  const cryptoApi = globalThis.crypto;
  if (typeof cryptoApi?.randomUUID === 'function') return cryptoApi.randomUUID();
  const bytes = cryptoApi.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `?tenantId=…` for a super-admin's request about one tenant's call, or nothing. */
function tenantQuery(tenantId: string | undefined): string {
  return tenantId === undefined ? '' : `?${new URLSearchParams({ tenantId })}`;
}
