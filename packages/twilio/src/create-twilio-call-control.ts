import {
  type CallControl,
  InvalidArgumentError,
  type PlaceCallRequest,
  type PlacedCall,
} from '@calltrack/core';
import type { TwilioClient } from './create-twilio-client';
import { TwilioApiError } from './twilio-api-error';

/** What Twilio runs when the called party answers: one of a TwiML URL, TwiML or a TwiML App. */
export type TwilioCallInstructions =
  | { url: string }
  | { twiml: string }
  | { applicationSid: string };

/** Options of {@link createTwilioCallControl}. */
export interface CreateTwilioCallControlOptions {
  /** The client calls are placed with (`createTwilioClient`). */
  client: TwilioClient;
  /**
   * The URL of your `createTwilioWebhookHandler`, where Twilio posts the call's status callbacks
   * (and its recording and machine-detection callbacks). Each call gets its own copy with
   * `?tenant=<tenantId>` (and `&reference=<reference>` when the request has one) added, which
   * Twilio signs along with the rest: resolve the tenant from `url.searchParams.get('tenant')`
   * in the handler's `resolveTenant`. A function returns the URL for a request instead (nothing
   * is added to it).
   */
  statusCallbackUrl: string | ((request: PlaceCallRequest) => string | URL);
  /** The caller id when a request names none: one of your Twilio numbers, E.164. */
  from?: string;
  /**
   * What Twilio runs once the customer answers. Default: with an `agentNumber` in the request,
   * TwiML that dials the agent (`<Dial>` with the call's `from` as caller id), bridging the two;
   * without one the request is refused (`InvalidArgumentError`). A function decides per request.
   */
  answer?: TwilioCallInstructions | ((request: PlaceCallRequest) => TwilioCallInstructions);
  /**
   * Answering-machine detection, run asynchronously: its result is posted to the status callback
   * URL and becomes a `call.machine_detection` event. Default: off.
   */
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** Seconds machine detection may take (Twilio's default is 30). */
  machineDetectionTimeoutSeconds?: number;
  /** Record the call; the recording callback goes to the status callback URL. Default false. */
  record?: boolean;
  /** Seconds to let the call ring before it ends as `no-answer` (Twilio's default is 60). */
  ringTimeoutSeconds?: number;
  /** Longest the call may last, in seconds (Twilio's default is 4 hours). */
  timeLimitSeconds?: number;
}

/** Twilio's error code for a call that is no longer in progress (it already ended). */
const callNotInProgress = 21220;

/**
 * Core's `CallControl` over a {@link TwilioClient}: what the tracker's call-control routes and the
 * dialer place and end Twilio calls with.
 *
 * `placeCall` creates the call with every status callback event subscribed (`initiated`,
 * `ringing`, `answered`, `completed`) and a callback URL that names the tenant, so the webhooks
 * that follow reach your handler and resolve to the tenant that placed the call. It resolves
 * with Twilio's Call SID (the `callId` of those events). `terminateCall` hangs up
 * (`Status=completed`); a call that already ended (Twilio error 21220) is not an error.
 *
 * Failures are `TwilioApiError`s (`ProviderApiError`s): a 4xx other than 408, 409 and 429 is a
 * definite refusal (nothing was placed); a network failure, a timeout or a 5xx is ambiguous.
 * A request that cannot be sent (no `from`, no way to answer) rejects with
 * `InvalidArgumentError` before anything reaches Twilio.
 *
 * @example
 * const twilioCalls = createTwilioCallControl({
 *   client: createTwilioClient({ accountSid, authToken }),
 *   from: '+14155550100',
 *   statusCallbackUrl: 'https://hooks.example.com/webhooks/twilio',
 * });
 * await twilioCalls.placeCall({ tenantId: 'acme', to: '+14155550123', agentNumber: '+14155550142' });
 */
export function createTwilioCallControl(options: CreateTwilioCallControlOptions): CallControl {
  if (options == null || options.client == null || typeof options.client.placeCall !== 'function') {
    throw new InvalidArgumentError({
      message: 'createTwilioCallControl needs { client } from createTwilioClient.',
    });
  }
  const { client } = options;
  const callbackFor = statusCallbackFor(options.statusCallbackUrl);

  return {
    provider: 'twilio',
    async placeCall(request: PlaceCallRequest): Promise<PlacedCall> {
      checkRequest(request);
      const from = request.from ?? options.from;
      if (from === undefined || from.trim() === '') {
        throw new InvalidArgumentError({
          message: 'placeCall: no "from" number: give one, or set `from` on the adapter.',
        });
      }
      const callback = callbackFor(request);
      const call = await client.placeCall({
        to: request.to,
        from,
        ...instructionsFor(options.answer, request, from),
        statusCallback: callback,
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
        statusCallbackMethod: 'POST',
        ...(options.machineDetection === undefined
          ? {}
          : {
              machineDetection: options.machineDetection,
              asyncAmd: true,
              asyncAmdStatusCallback: callback,
              asyncAmdStatusCallbackMethod: 'POST' as const,
              ...(options.machineDetectionTimeoutSeconds === undefined
                ? {}
                : { machineDetectionTimeout: options.machineDetectionTimeoutSeconds }),
            }),
        ...(options.record === true
          ? {
              record: true,
              recordingStatusCallback: callback,
              recordingStatusCallbackEvent: ['completed'] as const,
              recordingStatusCallbackMethod: 'POST' as const,
            }
          : {}),
        ...(options.ringTimeoutSeconds === undefined
          ? {}
          : { timeout: options.ringTimeoutSeconds }),
        ...(options.timeLimitSeconds === undefined ? {} : { timeLimit: options.timeLimitSeconds }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      return { provider: 'twilio', callId: call.sid, reference: request.reference };
    },
    async terminateCall(callId, terminateOptions) {
      try {
        await client.endCall(callId, {
          status: 'completed',
          ...(terminateOptions?.signal === undefined ? {} : { signal: terminateOptions.signal }),
        });
      } catch (error) {
        // Hanging up a call that already ended is what the caller wanted: done.
        if (TwilioApiError.isInstance(error) && Number(error.providerCode) === callNotInProgress) {
          return;
        }
        throw error;
      }
    },
  };
}

function checkRequest(request: PlaceCallRequest): void {
  if (request == null || typeof request !== 'object') {
    throw new InvalidArgumentError({ message: 'placeCall needs a request object.' });
  }
  if (typeof request.tenantId !== 'string' || request.tenantId === '') {
    throw new InvalidArgumentError({ message: 'placeCall: "tenantId" is required.' });
  }
  if (typeof request.to !== 'string' || request.to.trim() === '') {
    throw new InvalidArgumentError({ message: 'placeCall: "to" is required.' });
  }
}

/** Builds each call's status callback URL once the option is checked. */
function statusCallbackFor(
  option: CreateTwilioCallControlOptions['statusCallbackUrl'],
): (request: PlaceCallRequest) => string {
  if (typeof option === 'function') return (request) => String(option(request));
  let base: URL | undefined;
  try {
    base = new URL(option);
  } catch {
    // reported below
  }
  if (base === undefined || !/^https?:$/.test(base.protocol)) {
    throw new InvalidArgumentError({
      message: 'createTwilioCallControl: statusCallbackUrl must be an absolute http(s) URL.',
    });
  }
  const template = base;
  return (request) => {
    const url = new URL(template.href);
    url.searchParams.set('tenant', request.tenantId);
    if (request.reference !== undefined) url.searchParams.set('reference', request.reference);
    return url.href;
  };
}

/** The `Url` / `Twiml` / `ApplicationSid` parameter of a request. */
function instructionsFor(
  answer: CreateTwilioCallControlOptions['answer'],
  request: PlaceCallRequest,
  from: string,
): TwilioCallInstructions {
  if (typeof answer === 'function') return answer(request);
  if (answer !== undefined) return answer;
  if (request.agentNumber === undefined) {
    throw new InvalidArgumentError({
      message:
        'placeCall: give an "agentNumber" to bridge the customer to, or configure `answer` on the adapter.',
    });
  }
  return {
    twiml: `<Response><Dial callerId="${escapeXml(from)}"><Number>${escapeXml(request.agentNumber)}</Number></Dial></Response>`,
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
