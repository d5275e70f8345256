import {
  type CallDirection,
  type CallStatus,
  InvalidArgumentError,
  ProviderApiError,
} from '@calltrack/core';
import { checkRequestTimeoutMs, readRetryAfterSeconds } from '@calltrack/core/internal';
import { z } from 'zod';
import { mapRetellCallStatus } from './map-retell-call-status';
import { mapRetellDirection } from './map-retell-direction';
import { normalizeRetellPhoneNumber } from './normalize-retell-phone-number';

/** Options of {@link createRetellClient}. */
export interface CreateRetellClientOptions {
  /** A Retell API key, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** API origin; default `https://api.retellai.com`. Point it at a local server in tests. */
  baseUrl?: string;
  /**
   * Abort a request after this many milliseconds (a retryable `ProviderApiError` without a
   * status, like a network failure). Default 30000.
   */
  timeoutMs?: number;
  /** The fetch implementation; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/** What {@link RetellClient.placeCall} sends. */
export interface RetellPlaceCallOptions {
  /** Your Retell number (bought from or imported into Retell), E.164. */
  from: string;
  /** The number to call, E.164. */
  to: string;
  /** Use this agent for this call instead of the number's outbound agent (`override_agent_id`). */
  agentId?: string;
  /** Use this agent version for this call (`override_agent_version`). */
  agentVersion?: number;
  /** Your own object, echoed back in every webhook of the call (`metadata`), e.g. `{ leadId }`. */
  metadata?: Record<string, unknown>;
  /** Values for the agent prompt's dynamic variables (`retell_llm_dynamic_variables`). */
  dynamicVariables?: Record<string, string>;
  /** Extra SIP headers for the call (`custom_sip_headers`). */
  customSipHeaders?: Record<string, string>;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** A call Retell accepted. */
export interface RetellPlacedCall {
  /** Retell's call id; the `callId` of every `CallEvent` of this call. */
  callId: string;
  /** The agent that will handle the call. */
  agentId: string | undefined;
  /** Normalized status, normally `queued` (Retell's `registered`). */
  status: CallStatus;
  /** Retell's own `call_status`, e.g. `registered`. */
  providerStatus: string | undefined;
  direction: CallDirection | undefined;
  from: string | undefined;
  to: string | undefined;
  /** The whole response body. */
  response: Record<string, unknown>;
}

/** Options of {@link RetellClient.endCall}. */
export interface RetellEndCallOptions {
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Call control over Retell's REST API. Every failure is a `ProviderApiError`. */
export interface RetellClient {
  /**
   * Places an outbound phone call: `POST /v2/create-phone-call`. Retell's API is not idempotent:
   * after a network failure or a 5xx (`isRetryable`) the call may still have been placed, so
   * reconcile through the webhooks before dialing the same lead again.
   */
  placeCall(options: RetellPlaceCallOptions): Promise<RetellPlacedCall>;
  /**
   * Ends an ongoing call: `POST /v2/stop-call/{call_id}` (Retell's "stop call" endpoint). The
   * call then ends with `disconnection_reason` `manual_stopped`.
   */
  endCall(callId: string, options?: RetellEndCallOptions): Promise<void>;
}

const provider = 'retell';

const placedCallSchema = z.looseObject({
  call_id: z.string().min(1),
  agent_id: z.string().nullish(),
  call_status: z.string().nullish(),
  direction: z.string().nullish(),
  from_number: z.string().nullish(),
  to_number: z.string().nullish(),
});

/**
 * Creates a client for Retell's call-control API: {@link RetellClient.placeCall} and
 * {@link RetellClient.endCall}. Requests carry `Authorization: Bearer <apiKey>`; non-2xx answers
 * and network failures become `ProviderApiError` (with `providerStatus`, Retell's message, the
 * response body and `isRetryable`).
 */
export function createRetellClient(options: CreateRetellClientOptions): RetellClient {
  if (options == null || typeof options.apiKey !== 'string' || options.apiKey === '') {
    throw new InvalidArgumentError({ message: 'createRetellClient: apiKey is required.' });
  }
  const baseUrl = (options.baseUrl ?? 'https://api.retellai.com').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  checkRequestTimeoutMs('createRetellClient', timeoutMs);
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const headers = {
    authorization: `Bearer ${options.apiKey}`,
    accept: 'application/json',
  };

  async function send(
    path: string,
    body: unknown,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetchImplementation(`${baseUrl}${path}`, {
        method: 'POST',
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      throw new ProviderApiError({
        message: timeout.aborted
          ? `Retell ${action} failed: no answer within ${timeoutMs} ms.`
          : `Retell ${action} failed: the request did not get an answer.`,
        provider,
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      const details = readError(text);
      throw new ProviderApiError({
        message: `Retell ${action} failed with HTTP ${response.status}${details.message ? `: ${details.message}` : '.'}`,
        provider,
        providerStatus: response.status,
        ...(details.code === undefined ? {} : { providerCode: details.code }),
        retryAfterSeconds: readRetryAfterSeconds(response),
        responseBody: text.slice(0, 4096),
      });
    }
    return { status: response.status, text };
  }

  return {
    async placeCall(call) {
      if (call == null || !nonEmpty(call.from) || !nonEmpty(call.to)) {
        throw new InvalidArgumentError({
          message: 'placeCall: from and to are required.',
        });
      }
      const body = {
        from_number: call.from,
        to_number: call.to,
        ...defined({
          override_agent_id: call.agentId,
          override_agent_version: call.agentVersion,
          metadata: call.metadata,
          retell_llm_dynamic_variables: call.dynamicVariables,
          custom_sip_headers: call.customSipHeaders,
        }),
      };
      const { status, text } = await send(
        '/v2/create-phone-call',
        body,
        'create-phone-call',
        call.signal,
      );
      let parsed: z.infer<typeof placedCallSchema>;
      try {
        parsed = placedCallSchema.parse(JSON.parse(text));
      } catch (error) {
        throw new ProviderApiError({
          message: 'Retell create-phone-call answered without a call_id.',
          provider,
          providerStatus: status,
          responseBody: text.slice(0, 4096),
          cause: error,
        });
      }
      return {
        callId: parsed.call_id,
        agentId: parsed.agent_id ?? undefined,
        status: mapRetellCallStatus({ call_status: parsed.call_status ?? 'registered' }),
        providerStatus: parsed.call_status ?? undefined,
        direction: mapRetellDirection(parsed.direction),
        from: normalizeRetellPhoneNumber(parsed.from_number),
        to: normalizeRetellPhoneNumber(parsed.to_number),
        response: parsed as Record<string, unknown>,
      };
    },

    async endCall(callId, endOptions) {
      if (!nonEmpty(callId)) {
        throw new InvalidArgumentError({ message: 'endCall: callId is required.' });
      }
      await send(
        `/v2/stop-call/${encodeURIComponent(callId)}`,
        undefined,
        'stop-call',
        endOptions?.signal,
      );
    },
  };
}

/** Retell error bodies carry a `message` (some older ones `error_message`) and sometimes a `code`. */
function readError(text: string): { message?: string; code?: string | number } {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const message = [body.message, body.error_message, body.error].find(
      (value): value is string => typeof value === 'string' && value !== '',
    );
    const code = body.code;
    return {
      ...(message === undefined ? {} : { message: message.slice(0, 500) }),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  } catch {
    return {};
  }
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}

function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) result[key] = value;
  return result as Partial<T>;
}
