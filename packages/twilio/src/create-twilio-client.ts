import { InvalidArgumentError } from '@calltrack/core';
import { checkRequestTimeoutMs, readRetryAfterSeconds } from '@calltrack/core/internal';
import { parseTwilioCallResource, type TwilioCall } from './parse-twilio-call-resource';
import { TwilioApiError } from './twilio-api-error';

/** Options of {@link createTwilioClient}. */
export interface CreateTwilioClientOptions {
  /** The account (or subaccount) SID, `AC…`: the calls are created under it. */
  accountSid: string;
  /** The account's Auth Token, used for HTTP Basic auth. */
  authToken: string;
  /** Base URL of the REST API. Default `https://api.twilio.com`; point it at a local server in tests. */
  baseUrl?: string;
  /** Abort a request after this many milliseconds (answered as a retryable error). Default 30000. */
  timeoutMs?: number;
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch;
}

/** A status callback event to subscribe to when placing a call. */
export type TwilioStatusCallbackEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/** A recording status callback event to subscribe to. */
export type TwilioRecordingStatusCallbackEvent = 'in-progress' | 'completed' | 'absent';

/** Options of {@link TwilioClient.placeCall}. Give exactly one of `url`, `twiml` or `applicationSid`. */
export interface PlaceTwilioCallOptions {
  /** Who to call: E.164 number, `client:name` or SIP URI. */
  to: string;
  /** Your Twilio number (or verified caller id) the call comes from. */
  from: string;
  /** The TwiML URL Twilio fetches when the call is answered. */
  url?: string;
  /** TwiML to run when the call is answered, instead of `url`. */
  twiml?: string;
  /** A TwiML App SID, instead of `url`. */
  applicationSid?: string;
  /** HTTP method for `url`. Default `POST`. */
  method?: 'GET' | 'POST';
  /** Where Twilio posts status callbacks (point it at `createTwilioWebhookHandler`). */
  statusCallback?: string;
  /** Which status callbacks to send. Twilio's default is only `completed`. */
  statusCallbackEvent?: readonly TwilioStatusCallbackEvent[];
  statusCallbackMethod?: 'GET' | 'POST';
  /** Answering-machine detection. */
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** Seconds to spend on machine detection (Twilio default 30). */
  machineDetectionTimeout?: number;
  /** Run machine detection asynchronously and post the result to `asyncAmdStatusCallback`. */
  asyncAmd?: boolean;
  asyncAmdStatusCallback?: string;
  asyncAmdStatusCallbackMethod?: 'GET' | 'POST';
  /** Record the call. */
  record?: boolean;
  recordingStatusCallback?: string;
  recordingStatusCallbackEvent?: readonly TwilioRecordingStatusCallbackEvent[];
  recordingStatusCallbackMethod?: 'GET' | 'POST';
  /** Seconds to let the call ring before giving up (Twilio default 60). */
  timeout?: number;
  /** Maximum call length in seconds. */
  timeLimit?: number;
  /** DTMF digits to send once the call connects. */
  sendDigits?: string;
  /** The caller id for `client:` / SIP destinations. */
  callerId?: string;
  /** Any other Calls API parameter, by its Twilio name (`Trim`, `CallReason`, …). */
  params?: Readonly<Record<string, string | readonly string[]>>;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@link TwilioClient.endCall}. */
export interface EndTwilioCallOptions {
  /**
   * `completed` (default) hangs up a call in any state; `canceled` only cancels a call that is
   * still queued or ringing and leaves an answered one alone.
   */
  status?: 'completed' | 'canceled';
  signal?: AbortSignal;
}

/** Places and ends calls through Twilio's REST API (`/2010-04-01/Accounts/{AccountSid}/Calls`). */
export interface TwilioClient {
  /** The account the client acts for. */
  readonly accountSid: string;
  /**
   * Creates an outbound call (`POST Calls.json`). Resolves with the new call (its `sid` is the
   * `callId` of the events that follow); rejects with {@link TwilioApiError}, or
   * `InvalidArgumentError` for options that cannot make a request.
   */
  placeCall(options: PlaceTwilioCallOptions): Promise<TwilioCall>;
  /**
   * Ends a call (`POST Calls/{Sid}.json` with `Status=completed`). Resolves with the updated
   * call; rejects with {@link TwilioApiError} (`providerCode` 20404 for an unknown call).
   */
  endCall(callSid: string, options?: EndTwilioCallOptions): Promise<TwilioCall>;
}

/**
 * Creates a small Twilio Calls client over `fetch`: Basic auth, form-encoded bodies, typed
 * results and typed errors, no Twilio SDK.
 *
 * @example
 * const twilio = createTwilioClient({ accountSid, authToken });
 * const call = await twilio.placeCall({
 *   to: '+14155550100', from: '+14155550199', url: 'https://example.com/twiml',
 *   statusCallback: 'https://example.com/webhooks/twilio',
 *   statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
 * });
 * await twilio.endCall(call.sid);
 */
export function createTwilioClient(options: CreateTwilioClientOptions): TwilioClient {
  const { accountSid, authToken } = options ?? ({} as CreateTwilioClientOptions);
  if (typeof accountSid !== 'string' || !/^[A-Za-z0-9]{1,64}$/.test(accountSid)) {
    throw new InvalidArgumentError({
      message: 'createTwilioClient: accountSid must be a Twilio SID.',
    });
  }
  if (typeof authToken !== 'string' || authToken === '') {
    throw new InvalidArgumentError({ message: 'createTwilioClient: authToken is required.' });
  }
  const baseUrl = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  checkRequestTimeoutMs('createTwilioClient', timeoutMs);
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`, 'utf8').toString('base64')}`;
  const callsUrl = `${baseUrl}/2010-04-01/Accounts/${accountSid}/Calls`;

  async function post(
    url: string,
    form: URLSearchParams,
    signal?: AbortSignal,
  ): Promise<TwilioCall> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetchImplementation(url, {
        method: 'POST',
        headers: {
          authorization,
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': '@calltrack/twilio',
        },
        body: form.toString(),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      throw new TwilioApiError({
        message: `Twilio API request failed before an answer came back: ${describe(error)}`,
        cause: error,
      });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new TwilioApiError({
        message: `Twilio API answered ${response.status} but the body could not be read: ${describe(error)}`,
        providerStatus: response.status,
        cause: error,
      });
    }
    const json = parseJson(text);
    if (!response.ok) throw apiError(response, json, text);
    const call = parseTwilioCallResource(json);
    if (call === undefined) {
      throw new TwilioApiError({
        message: `Twilio API answered ${response.status} with a body that is not a Call resource.`,
        providerStatus: response.status,
        responseBody: text.slice(0, 2000),
      });
    }
    return call;
  }

  return {
    accountSid,
    placeCall(callOptions) {
      return Promise.resolve().then(() =>
        post(`${callsUrl}.json`, placeCallForm(callOptions), callOptions?.signal),
      );
    },
    endCall(callSid, endOptions = {}) {
      return Promise.resolve().then(() => {
        if (typeof callSid !== 'string' || !/^[A-Za-z0-9]{1,64}$/.test(callSid)) {
          throw new InvalidArgumentError({
            message: 'endCall: callSid must be a Twilio Call SID.',
          });
        }
        const status = endOptions.status ?? 'completed';
        if (status !== 'completed' && status !== 'canceled') {
          throw new InvalidArgumentError({
            message: 'endCall: status must be completed or canceled.',
          });
        }
        return post(
          `${callsUrl}/${callSid}.json`,
          new URLSearchParams({ Status: status }),
          endOptions.signal,
        );
      });
    },
  };
}

function placeCallForm(options: PlaceTwilioCallOptions): URLSearchParams {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'placeCall needs an options object.' });
  }
  for (const name of ['to', 'from'] as const) {
    if (typeof options[name] !== 'string' || options[name].trim() === '') {
      throw new InvalidArgumentError({ message: `placeCall: "${name}" is required.` });
    }
  }
  const instructions = [options.url, options.twiml, options.applicationSid].filter(
    (value) => value !== undefined,
  );
  if (instructions.length !== 1) {
    throw new InvalidArgumentError({
      message: 'placeCall: give exactly one of "url", "twiml" or "applicationSid".',
    });
  }
  const form = new URLSearchParams();
  const set = (name: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) form.append(name, String(value));
  };
  const setEach = (name: string, values: readonly string[] | undefined): void => {
    for (const value of values ?? []) form.append(name, value);
  };
  set('To', options.to);
  set('From', options.from);
  set('Url', options.url);
  set('Twiml', options.twiml);
  set('ApplicationSid', options.applicationSid);
  set('Method', options.method);
  set('StatusCallback', options.statusCallback);
  setEach('StatusCallbackEvent', options.statusCallbackEvent);
  set('StatusCallbackMethod', options.statusCallbackMethod);
  set('MachineDetection', options.machineDetection);
  set('MachineDetectionTimeout', options.machineDetectionTimeout);
  set('AsyncAmd', options.asyncAmd);
  set('AsyncAmdStatusCallback', options.asyncAmdStatusCallback);
  set('AsyncAmdStatusCallbackMethod', options.asyncAmdStatusCallbackMethod);
  set('Record', options.record);
  set('RecordingStatusCallback', options.recordingStatusCallback);
  setEach('RecordingStatusCallbackEvent', options.recordingStatusCallbackEvent);
  set('RecordingStatusCallbackMethod', options.recordingStatusCallbackMethod);
  set('Timeout', options.timeout);
  set('TimeLimit', options.timeLimit);
  set('SendDigits', options.sendDigits);
  set('CallerId', options.callerId);
  for (const [name, value] of Object.entries(options.params ?? {})) {
    form.delete(name);
    if (typeof value === 'string') form.append(name, value);
    else setEach(name, value);
  }
  return form;
}

function apiError(response: Response, json: unknown, text: string): TwilioApiError {
  const { status } = response;
  const body = json != null && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const code =
    typeof body.code === 'number' || typeof body.code === 'string' ? body.code : undefined;
  const message = typeof body.message === 'string' ? body.message : undefined;
  const moreInfo = typeof body.more_info === 'string' ? body.more_info : undefined;
  return new TwilioApiError({
    message:
      `Twilio API answered ${status}` +
      (code === undefined ? '' : ` (code ${code})`) +
      (message === undefined ? '.' : `: ${message}`) +
      (moreInfo === undefined ? '' : ` See ${moreInfo}`),
    providerStatus: status,
    providerCode: code,
    retryAfterSeconds: readRetryAfterSeconds(response),
    moreInfo,
    responseBody: text.slice(0, 2000),
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
