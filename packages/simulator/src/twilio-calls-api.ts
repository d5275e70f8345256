import { type CallStatus, jsonResponse, readRequestText, timingSafeEqual } from '@calltrack/core';
import { applyProviderApiFault } from './apply-provider-api-fault';
import type { ScriptedWebhook } from './call-script';
import { createCallScript } from './create-call-script';
import { endTwilioCallScript } from './end-twilio-call-script';
import { formatTwilioTimestamp } from './format-twilio-timestamp';
import type { ProviderApiCallRecord, ProviderApiContext } from './provider-api-context';

/** Twilio's Calls resource paths: `Calls.json` and `Calls/{Sid}.json` of an account. */
const callsPath = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls(?:\/([^/]+))?\.json$/;
const e164 = /^\+[1-9]\d{6,14}$/;
/** `StatusCallbackEvent` values and the status callbacks each subscribes to. */
const subscribedKinds: Readonly<Record<string, readonly string[]>> = {
  initiated: ['status:initiated'],
  ringing: ['status:ringing'],
  answered: ['status:in-progress'],
  completed: [
    'status:completed',
    'status:busy',
    'status:no-answer',
    'status:failed',
    'status:canceled',
  ],
};
/**
 * The largest request body read, in bytes: a create request is a handful of form fields (Twilio
 * caps `Twiml` at 4,000 characters); past this the answer is 413, from `Content-Length` when given.
 */
const maxBodyBytes = 64 * 1024;
/** Twilio's own error codes for plain HTTP failures. */
const codeOfStatus: Readonly<Record<number, number>> = {
  401: 20003,
  403: 20403,
  404: 20404,
  429: 20429,
  500: 20500,
  503: 20503,
};

/** True when the path is one of Twilio's Calls resources. @internal */
export function isTwilioCallsPath(pathname: string): boolean {
  return callsPath.test(pathname);
}

/**
 * Twilio's Calls API: `POST Calls.json` creates a call (201 with the Call resource), `POST
 * Calls/{Sid}.json` with `Status=completed|canceled` hangs one up, `GET Calls/{Sid}.json` reads
 * one. Basic auth with the account SID and the simulator's Auth Token; errors as Twilio writes
 * them, `{ code, message, more_info, status }`. @internal
 */
export async function handleTwilioCallsApi(
  request: Request,
  context: ProviderApiContext,
): Promise<Response> {
  const url = new URL(request.url);
  const [, accountSid = '', callSid] = callsPath.exec(url.pathname) ?? [];
  const { twilioAuthToken } = context.simulator.config.credentials;
  const expected = `Basic ${Buffer.from(`${context.twilioAccountSid}:${twilioAuthToken}`).toString('base64')}`;
  if (
    !timingSafeEqual(request.headers.get('authorization') ?? '', expected) ||
    accountSid !== context.twilioAccountSid
  ) {
    return twilioError(401, 20003, 'Authenticate');
  }
  if (callSid === undefined) {
    if (request.method !== 'POST') return twilioError(405, 20004, 'Method not allowed');
    return createCall(await readForm(request), context);
  }
  if (request.method === 'GET') {
    return applyProviderApiFault(
      context.fault({ provider: 'twilio', operation: 'fetch', callId: callSid }),
      faultAnswers,
      () => {
        const record = context.find('twilio', callSid);
        return record === undefined
          ? notFound()
          : jsonResponse(callResource(record, context.twilioAccountSid));
      },
    );
  }
  if (request.method !== 'POST') return twilioError(405, 20004, 'Method not allowed');
  return updateCall(callSid, await readForm(request), context);
}

async function readForm(request: Request): Promise<URLSearchParams> {
  return new URLSearchParams(await readRequestText(request, { maxBytes: maxBodyBytes }));
}

/** True for what Twilio takes as a webhook URL: absolute, `http:` or `https:`. */
function isWebhookUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

function createCall(form: URLSearchParams, context: ProviderApiContext): Promise<Response> {
  const to = form.get('To');
  const from = form.get('From');
  if (to === null || to === '')
    return Promise.resolve(twilioError(400, 21201, "No 'To' number is specified"));
  if (from === null || from === '') {
    return Promise.resolve(twilioError(400, 21213, "No 'From' number is specified"));
  }
  if (!e164.test(to))
    return Promise.resolve(twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`));
  const line = context.lines('twilio').find((candidate) => candidate.number === from);
  if (line === undefined) {
    return Promise.resolve(
      twilioError(
        400,
        21210,
        `The source phone number provided, ${from}, is not yet verified for your account.`,
      ),
    );
  }
  if (!form.has('Url') && !form.has('Twiml') && !form.has('ApplicationSid')) {
    return Promise.resolve(
      twilioError(400, 21205, "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required."),
    );
  }
  // Twilio refuses a URL it could not call (each callback below is used as given, so one that
  // is not absolute would otherwise fail at its first delivery) and an event it does not know.
  const url = form.get('Url');
  if (url !== null && !isWebhookUrl(url)) {
    return Promise.resolve(twilioError(400, 21205, `Url is not a valid URL: ${url}`));
  }
  const statusCallback = form.get('StatusCallback') ?? undefined;
  if (statusCallback !== undefined && !isWebhookUrl(statusCallback)) {
    return Promise.resolve(
      twilioError(400, 21609, `StatusCallback is not a valid URL: ${statusCallback}`),
    );
  }
  for (const name of ['AsyncAmdStatusCallback', 'RecordingStatusCallback']) {
    const value = form.get(name);
    if (value !== null && !isWebhookUrl(value)) {
      return Promise.resolve(twilioError(400, 21205, `${name} is not a valid URL: ${value}`));
    }
  }
  const reference = referenceOf(statusCallback);
  const info = {
    provider: 'twilio' as const,
    operation: 'place' as const,
    to,
    from,
    ...(reference === undefined ? {} : { reference }),
  };
  const events = new Set(
    (form.getAll('StatusCallbackEvent').length > 0
      ? form.getAll('StatusCallbackEvent')
      : ['completed']
    ).flatMap((value) => value.split(/\s+/).filter((event) => event !== '')),
  );
  const unknownEvent = [...events].find((event) => subscribedKinds[event] === undefined);
  if (unknownEvent !== undefined) {
    return Promise.resolve(
      twilioError(400, 21626, `StatusCallbackEvent ${unknownEvent} is not a valid event.`),
    );
  }
  const machineDetectionMode = form.get('MachineDetection');
  if (
    machineDetectionMode !== null &&
    machineDetectionMode !== 'Enable' &&
    machineDetectionMode !== 'DetectMessageEnd'
  ) {
    return Promise.resolve(
      twilioError(400, 21234, `MachineDetection must be Enable or DetectMessageEnd.`),
    );
  }
  const machineDetection = machineDetectionMode !== null;
  const asyncAmdCallback =
    machineDetection && form.get('AsyncAmd') === 'true'
      ? (form.get('AsyncAmdStatusCallback') ?? undefined)
      : undefined;
  const recording = form.get('Record') === 'true';
  const recordingCallback = recording
    ? (form.get('RecordingStatusCallback') ?? undefined)
    : undefined;

  return applyProviderApiFault(context.fault(info), faultAnswers, () => {
    const record = context.place({
      info,
      line,
      script: (input) =>
        createCallScript({
          line,
          outcome: input.outcome,
          seed: input.seed,
          startedAt: input.startedAt,
          direction: 'outbound',
          customerNumber: to,
          machineDetection: machineDetectionMode ?? false,
          recording,
          ...(input.talkDurationMs === undefined ? {} : { talkDurationMs: input.talkDurationMs }),
        }),
      deliver: (script) => ({
        ...script,
        webhooks: script.webhooks.flatMap((webhook) => {
          const target =
            webhook.kind === 'amd'
              ? asyncAmdCallback
              : webhook.kind === 'recording'
                ? recordingCallback
                : statusCallback !== undefined &&
                    [...events].some((event) => subscribedKinds[event]?.includes(webhook.kind))
                  ? statusCallback
                  : undefined;
          return target === undefined ? [] : [asSentBy(webhook, target, context.twilioAccountSid)];
        }),
      }),
      end: (script, atMs) => {
        const ending = endTwilioCallScript(script, atMs);
        if (ending === undefined) return undefined;
        return {
          ...ending,
          webhooks: ending.webhooks.flatMap((webhook) => {
            const target = webhook.kind === 'recording' ? recordingCallback : statusCallback;
            const wanted = webhook.kind === 'recording' || events.has('completed');
            return target === undefined || !wanted
              ? []
              : [asSentBy(webhook, target, context.twilioAccountSid)];
          }),
        };
      },
    });
    // A call Twilio just accepted is queued, whatever happened since.
    return jsonResponse(callResource(record, context.twilioAccountSid, 'queued'), { status: 201 });
  });
}

function updateCall(
  callSid: string,
  form: URLSearchParams,
  context: ProviderApiContext,
): Promise<Response> {
  const status = form.get('Status');
  if (status !== 'completed' && status !== 'canceled') {
    return Promise.resolve(
      twilioError(
        400,
        21218,
        'The simulator updates calls with Status=completed or Status=canceled only.',
      ),
    );
  }
  return applyProviderApiFault(
    context.fault({ provider: 'twilio', operation: 'terminate', callId: callSid }),
    faultAnswers,
    () => {
      const record = context.find('twilio', callSid);
      if (record === undefined) return notFound();
      const now = record.call.status;
      if (now !== 'queued' && now !== 'ringing' && now !== 'in-progress') {
        return twilioError(400, 21220, 'Call is not in-progress. Cannot redirect.');
      }
      // `canceled` only ends a call that has not been answered yet.
      if (status === 'completed' || now !== 'in-progress') record.end();
      return jsonResponse(callResource(record, context.twilioAccountSid));
    },
  );
}

/** A scripted webhook as Twilio sends it for this call: to its callback URL, for this account. */
function asSentBy(webhook: ScriptedWebhook, target: string, accountSid: string): ScriptedWebhook {
  const { query: _query, ...rest } = webhook;
  if (webhook.payload.type !== 'form') return { ...rest, url: target };
  return {
    ...rest,
    url: target,
    payload: { type: 'form', params: { ...webhook.payload.params, AccountSid: accountSid } },
  };
}

/** The reference the call-control adapter put in the callback URL's query. */
function referenceOf(statusCallback: string | undefined): string | undefined {
  if (statusCallback === undefined) return undefined;
  try {
    return new URL(statusCallback).searchParams.get('reference') ?? undefined;
  } catch {
    return undefined;
  }
}

/** The Call resource as Twilio returns it (snake_case JSON), as the call stands now. */
function callResource(
  record: ProviderApiCallRecord,
  accountSid: string,
  status: CallStatus = record.call.status,
): Record<string, unknown> {
  const { call, script, ending } = record;
  const ended = !['queued', 'ringing', 'in-progress'].includes(status);
  const seconds = ended
    ? Math.round((ending?.talkDurationMs ?? script.talkDurationMs) / 1000)
    : null;
  const endedAt = ending === undefined ? script.endedAt : script.startedAt + ending.endedAtMs;
  const uri = `/2010-04-01/Accounts/${accountSid}/Calls/${call.callId}`;
  return {
    sid: call.callId,
    date_created: formatTwilioTimestamp(script.startedAt),
    date_updated: formatTwilioTimestamp(Date.now()),
    parent_call_sid: null,
    account_sid: accountSid,
    to: call.to,
    to_formatted: call.to,
    from: call.from,
    from_formatted: call.from,
    phone_number_sid: null,
    status,
    start_time: formatTwilioTimestamp(script.startedAt),
    end_time: ended ? formatTwilioTimestamp(endedAt) : null,
    duration: seconds === null ? null : String(seconds),
    price: null,
    price_unit: 'USD',
    direction: 'outbound-api',
    answered_by: null,
    api_version: '2010-04-01',
    forwarded_from: null,
    group_sid: null,
    caller_name: null,
    queue_time: '0',
    trunk_sid: null,
    uri: `${uri}.json`,
    subresource_uris: {
      notifications: `${uri}/Notifications.json`,
      recordings: `${uri}/Recordings.json`,
      events: `${uri}/Events.json`,
    },
  };
}

const faultAnswers = {
  refuse: (status: number | undefined, message: string | undefined) =>
    twilioError(
      status ?? 400,
      status === undefined ? 21211 : (codeOfStatus[status] ?? 21211),
      message ?? "Invalid 'To' Phone Number",
    ),
  fail: (status: number, message: string | undefined) =>
    twilioError(status, codeOfStatus[status] ?? 20500, message ?? 'Internal Server Error'),
};

function notFound(): Response {
  return twilioError(404, 20404, 'The requested resource was not found');
}

/** An error answer in Twilio's shape. */
function twilioError(status: number, code: number, message: string): Response {
  return jsonResponse(
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    { status },
  );
}
