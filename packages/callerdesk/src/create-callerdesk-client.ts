import { InvalidArgumentError, ProviderApiError } from '@calltrack/core';
import { checkRequestTimeoutMs, readRetryAfterSeconds } from '@calltrack/core/internal';

/** Options of {@link createCallerDeskClient}. */
export interface CreateCallerDeskClientOptions {
  /** The API key from CallerDesk's Integration settings, sent as the `authcode` parameter. */
  authCode: string;
  /** API origin; default `https://app.callerdesk.io`. Point it at a local server in tests. */
  baseUrl?: string;
  /** The default virtual number (DID / deskphone) calls go out from. */
  deskphone?: string;
  /**
   * Abort a request after this many milliseconds (a retryable `ProviderApiError` without a
   * status, like a network failure). Default 30000.
   */
  timeoutMs?: number;
  /** The fetch implementation; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/** What {@link CallerDeskClient.clickToCall} sends. */
export interface CallerDeskClickToCallOptions {
  /**
   * The agent's number, rung first (`calling_party_a`). Must be a member number in CallerDesk.
   * `+91…` numbers are sent as their 10 national digits; other values as their digits.
   */
  agentNumber: string;
  /** The customer's number, rung once the agent answers (`calling_party_b`). Formatted like `agentNumber`. */
  customerNumber: string;
  /** The virtual number (DID / deskphone) the call goes out from; defaults to the client's `deskphone`. Sent as given. */
  deskphone?: string;
  /** Your campaign id (`campid`), echoed back as `campid` in the call report webhook. */
  campaignId?: string | number;
  /** The DID shown to the parties (`callerid`). */
  callerId?: string;
  /** Maximum call length (`CallLimit`), as CallerDesk's API defines it. */
  callLimit?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** What CallerDesk answered to a click-to-call request. */
export interface CallerDeskClickToCallResult {
  /** CallerDesk's campaign id for the call (`campid`), when it returned one. */
  campaignId: string | undefined;
  /** The call id (`CallSid`), when CallerDesk returned one; otherwise it arrives with the webhooks. */
  callId: string | undefined;
  /** CallerDesk's message, e.g. a confirmation text. */
  message: string | undefined;
  /** The whole JSON answer. */
  response: Record<string, unknown>;
}

/**
 * Call control over CallerDesk's REST API. CallerDesk's documented API has no endpoint to end
 * or hang up a call, so this client has none: a click-to-call ends when a party hangs up.
 * Every failure is a `ProviderApiError`.
 */
export interface CallerDeskClient {
  /**
   * Places a click-to-call (`GET /api/click_to_call_v2`, "Click2Call API (Normal)"): CallerDesk
   * rings the agent first and, once the agent answers, the customer; both see the virtual
   * number. The outcome arrives through the Live Call / Call Report webhooks (`Direction`
   * `WEBOBD`). CallerDesk answers errors with HTTP 200 and `{"type":"error"}`; those become
   * `ProviderApiError` too. The API has no idempotency key: after a network failure or a 5xx the
   * call may have been placed, so reconcile through the webhooks before dialing again.
   */
  clickToCall(options: CallerDeskClickToCallOptions): Promise<CallerDeskClickToCallResult>;
}

const provider = 'callerdesk';

/**
 * Creates a client for CallerDesk's call-control API ({@link CallerDeskClient.clickToCall}).
 * The `authcode` travels as a query parameter, as CallerDesk requires; it never appears in error
 * messages.
 */
export function createCallerDeskClient(options: CreateCallerDeskClientOptions): CallerDeskClient {
  if (options == null || typeof options.authCode !== 'string' || options.authCode.trim() === '') {
    throw new InvalidArgumentError({ message: 'createCallerDeskClient: authCode is required.' });
  }
  const authCode = options.authCode.trim();
  const baseUrl = (options.baseUrl ?? 'https://app.callerdesk.io').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  checkRequestTimeoutMs('createCallerDeskClient', timeoutMs);
  const fetchImplementation = options.fetch ?? globalThis.fetch;

  return {
    async clickToCall(call) {
      const agent = toDialNumber(call?.agentNumber);
      const customer = toDialNumber(call?.customerNumber);
      const deskphone = (call?.deskphone ?? options.deskphone)?.replace(/[\s()-]/g, '');
      if (agent === undefined || customer === undefined || !deskphone) {
        throw new InvalidArgumentError({
          message: 'clickToCall: agentNumber, customerNumber and deskphone are required.',
        });
      }
      const query = new URLSearchParams({
        calling_party_a: agent,
        calling_party_b: customer,
        deskphone,
        authcode: authCode,
        call_from_did: '1',
      });
      if (call.campaignId !== undefined) query.set('campid', String(call.campaignId));
      if (call.callerId !== undefined) query.set('callerid', call.callerId);
      if (call.callLimit !== undefined) query.set('CallLimit', String(call.callLimit));

      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetchImplementation(`${baseUrl}/api/click_to_call_v2?${query}`, {
          method: 'GET',
          headers: { accept: 'application/json' },
          signal: call.signal === undefined ? timeout : AbortSignal.any([call.signal, timeout]),
        });
      } catch (error) {
        throw new ProviderApiError({
          message: timeout.aborted
            ? `CallerDesk click-to-call failed: no answer within ${timeoutMs} ms.`
            : 'CallerDesk click-to-call failed: the request did not get an answer.',
          provider,
          cause: error,
        });
      }
      const text = redact(await response.text().catch(() => ''), authCode);
      const body = parseJsonObject(text);
      const message = firstString(body?.message, body?.msg, body?.error);
      const outcome = firstString(body?.type, body?.status)?.toLowerCase();
      const failed = outcome === 'error' || outcome === 'failed' || outcome === 'failure';
      if (!response.ok || body === undefined || failed) {
        const reason = !response.ok
          ? `HTTP ${response.status}`
          : body === undefined
            ? 'an answer that is not a JSON object'
            : 'an error';
        throw new ProviderApiError({
          message: `CallerDesk click-to-call failed with ${reason}${message ? `: ${message}` : '.'}`,
          provider,
          providerStatus: response.status,
          // An error in a 200 answer is CallerDesk's refusal; a 200 that is not JSON is ambiguous.
          ...(response.ok && failed ? { refused: true } : {}),
          ...(typeof body?.code === 'string' || typeof body?.code === 'number'
            ? { providerCode: body.code }
            : {}),
          retryAfterSeconds: readRetryAfterSeconds(response),
          responseBody: text.slice(0, 4096),
        });
      }
      return {
        campaignId: firstString(body.campid, body.camp_id),
        callId: firstString(body.CallSid, body.callsid, body.call_id),
        message,
        response: body,
      };
    },
  };
}

/** `+91…` → the 10 national digits CallerDesk's examples use; anything else → its digits. */
function toDialNumber(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  const digits = trimmed.replace(/\D/g, '');
  if (digits === '') return undefined;
  if (trimmed.startsWith('+91') && digits.length === 12) return digits.slice(2);
  return digits;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** Keeps the auth code out of error bodies, should an answer echo the request. */
function redact(text: string, secret: string): string {
  return text.split(secret).join('[redacted]');
}
