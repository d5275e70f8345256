import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  InvalidArgumentError,
  jsonResponse,
  type Principal,
  ProviderApiError,
  toErrorResponse,
  UnsupportedOperationError,
} from '@calltrack/core';
import { isExpectedRefusal } from './expected-refusal';
import type { IdempotencyStore, IdempotentAnswer } from './idempotency-store';
import { type PlaceCallBody, readPlaceCallBody } from './place-call-body';
import { providerErrorAnswer } from './provider-error-answer';
import { RequestIdReusedError } from './request-id-reused-error';
import { resolveCallControl, type TrackerCallControl } from './tracker-call-control';
import type { MaskedTrackerLogger } from './tracker-logger';

/** The providers calltrack has packages for: a missing adapter for one of them is a 501. */
const knownProviders = new Set(['twilio', 'retell', 'callerdesk']);

/** An answer of `POST /calls`: what is recorded, plus headers that are not (a `Retry-After`). */
type PlaceAnswer = IdempotentAnswer & { headers?: Record<string, string> };

/** What `POST /calls` runs with. @internal */
export interface PlaceCallSettings {
  callControl: TrackerCallControl;
  store: IdempotencyStore;
  /** How long a request id and its answer are kept. */
  ttlMs: number;
  /** A claim older than this was left by a process that died while placing. */
  pendingTimeoutMs: number;
  /** How long a repeat waits for the first request to finish before answering 409. */
  waitMs: number;
  now: () => number;
  logger: MaskedTrackerLogger;
}

/**
 * `POST /calls`: places a call for the principal's own tenant, once per `requestId`. The body is
 * read and checked first (400, 413, 415: nothing is recorded), then the adapter is found (400 for
 * a provider nobody knows, 501 for a known one without adapter), then the request id is claimed:
 *
 * - claimed: the adapter places the call; `202 { call: { provider, callId, reference } }`, or the
 *   provider's failure (see `providerErrorAnswer`), is recorded and answered. A failure the
 *   adapter raises before calling the provider (a 4xx `CallTrackError`, or a 501), a
 *   provider's 429 (503 with its `Retry-After`) and a provider's 401/403 (502
 *   `provider_credentials_rejected`: the app's own credentials) free the id instead: nothing
 *   was placed.
 * - completed: the recorded answer again (header `Idempotent-Replayed: true`); 422
 *   `request_id_reused` when the id came with another call.
 * - pending: waits (up to `waitMs`) for the first request, then answers like above; 409
 *   `request_in_progress` (with `Retry-After`) if it is still running, and 409
 *   `request_outcome_unknown` when its claim is older than `pendingTimeoutMs` (its process died
 *   while placing: the call may exist; the id is never used to place again). @internal
 */
export async function placeCallRoute(
  request: Request,
  principal: Principal,
  settings: PlaceCallSettings,
): Promise<Response> {
  const body = await readPlaceCallBody(request);
  const { tenantId } = principal;
  const control = await resolveCallControl(settings.callControl, principal, body.provider, {
    tenantId,
    operation: 'place',
  });
  if (control === undefined) {
    if (!knownProviders.has(body.provider)) {
      throw new InvalidArgumentError({ message: `"provider": no provider "${body.provider}".` });
    }
    throw new UnsupportedOperationError({
      message: `No call control is configured for ${body.provider}.`,
    });
  }
  const fingerprint = fingerprintOf(body);
  const started = performance.now();
  for (let attempt = 0; ; attempt += 1) {
    const claim = await settings.store.claim(tenantId, body.requestId, {
      fingerprint,
      now: settings.now(),
      ttlMs: settings.ttlMs,
    });
    if (claim.state === 'completed') {
      if (claim.fingerprint !== fingerprint) throw reusedRequestId();
      return answer(claim.answer, true);
    }
    if (claim.state === 'pending') {
      if (claim.fingerprint !== fingerprint) throw reusedRequestId();
      if (settings.now() - claim.startedAt > settings.pendingTimeoutMs) {
        return jsonResponse(
          {
            error: {
              code: 'request_outcome_unknown',
              message:
                'The first request with this requestId never finished (its server stopped while placing the call), so the call may exist. Check the calls before placing it again with a new requestId.',
            },
          },
          { status: 409, headers: { 'cache-control': 'no-store' } },
        );
      }
      const waited = performance.now() - started;
      if (waited >= settings.waitMs) {
        return jsonResponse(
          {
            error: {
              code: 'request_in_progress',
              message:
                'A request with this requestId is still placing the call; ask again shortly.',
            },
          },
          { status: 409, headers: { 'cache-control': 'no-store', 'retry-after': '1' } },
        );
      }
      await sleep(Math.min(20 * 2 ** Math.min(attempt, 4), settings.waitMs - waited));
      continue;
    }
    return answer(await placeOnce(control, body, tenantId, claim.token, settings), false);
  }
}

/** Places the call under a claim, and records (or, when nothing was sent, frees) the claim. */
async function placeOnce(
  control: NonNullable<Awaited<ReturnType<typeof resolveCallControl>>>,
  body: PlaceCallBody,
  tenantId: string,
  token: string,
  settings: PlaceCallSettings,
): Promise<PlaceAnswer> {
  const free = () =>
    settings.store.release(tenantId, body.requestId, token).catch((failure: unknown) => {
      settings.logger.error('A request id could not be freed.', { error: failure });
    });
  let result: IdempotentAnswer;
  try {
    const placed = await control.placeCall({
      tenantId,
      to: body.to,
      ...(body.from === undefined ? {} : { from: body.from }),
      ...(body.agentNumber === undefined ? {} : { agentNumber: body.agentNumber }),
      reference: body.requestId,
    });
    result = {
      status: 202,
      body: {
        call: {
          provider: placed.provider,
          callId: placed.callId ?? null,
          reference: placed.reference ?? body.requestId,
        },
      },
    };
  } catch (error) {
    if (ProviderApiError.isInstance(error)) {
      const { status, body: answerBody, headers, placedNothing } = providerErrorAnswer(error);
      if (placedNothing) {
        // A 429, or the app's own credentials rejected (401/403), placed nothing: the id is
        // freed, so the same request may try again once the provider's Retry-After has passed or
        // the operator fixed the credentials (recording it would replay the 5xx for a day).
        await free();
        return { status, body: answerBody, headers };
      }
      result = { status, body: answerBody };
    } else if (isExpectedRefusal(error)) {
      // Refused before anything reached the provider (bad input for this provider): nothing
      // was placed, so the request id is free for a corrected request.
      await free();
      throw error;
    } else {
      settings.logger.error('A call-control adapter failed while placing a call.', {
        provider: body.provider,
        error,
      });
      const response = toErrorResponse(error);
      result = { status: response.status, body: await response.json() };
    }
  }
  // The provider has answered: whatever happens to the record, this request gets that answer.
  // An unrecorded id stays pending, so repeats end as `request_outcome_unknown`, never as a
  // second call.
  try {
    const recorded = await settings.store.complete(
      tenantId,
      body.requestId,
      token,
      result,
      settings.ttlMs,
    );
    if (!recorded) {
      settings.logger.warn('A placed call’s answer was not recorded: its request id expired.', {
        provider: body.provider,
        requestId: body.requestId,
      });
    }
  } catch (error) {
    settings.logger.error('A placed call’s answer could not be recorded.', {
      provider: body.provider,
      requestId: body.requestId,
      error,
    });
  }
  return result;
}

/** What identifies the call a request asks for: a reused id with another call is refused. */
function fingerprintOf(body: PlaceCallBody): string {
  return createHash('sha256')
    .update(JSON.stringify([body.provider, body.to, body.from ?? '', body.agentNumber ?? '']))
    .digest('base64url');
}

function reusedRequestId(): RequestIdReusedError {
  return new RequestIdReusedError({
    message: 'This requestId was already used for another call: use a new one per call.',
  });
}

function answer({ status, body, headers }: PlaceAnswer, replayed: boolean): Response {
  return jsonResponse(body, {
    status,
    headers: {
      'cache-control': 'no-store',
      ...headers,
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
    },
  });
}
