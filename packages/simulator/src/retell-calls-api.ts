import { jsonResponse, readRequestText, timingSafeEqual } from '@calltrack/core';
import { applyProviderApiFault } from './apply-provider-api-fault';
import type { CallScript, ScriptedWebhook } from './call-script';
import { createCallScript } from './create-call-script';
import { endRetellCallScript } from './end-retell-call-script';
import type { ProviderApiCallRecord, ProviderApiContext } from './provider-api-context';

const e164 = /^\+[1-9]\d{6,14}$/;
/** The largest request body read, in bytes; past it the answer is 413. */
const maxBodyBytes = 64 * 1024;

/** True for the paths of Retell's call API the simulator plays. @internal */
export function isRetellCallsPath(pathname: string): boolean {
  return pathname === '/v2/create-phone-call' || pathname.startsWith('/v2/stop-call/');
}

/**
 * Retell's call API: `POST /v2/create-phone-call` (201 with the call, `call_status:
 * registered`) and `POST /v2/stop-call/{call_id}` (204). Bearer auth with the simulator's Retell
 * API key; errors as `{ status: 'error', message }`. Stopping a call that already ended answers
 * 204 and changes nothing. @internal
 */
export async function handleRetellCallsApi(
  request: Request,
  context: ProviderApiContext,
): Promise<Response> {
  const { pathname } = new URL(request.url);
  const expected = `Bearer ${context.simulator.config.credentials.retellApiKey}`;
  if (!timingSafeEqual(request.headers.get('authorization') ?? '', expected)) {
    return retellError(401, 'Invalid API key');
  }
  if (request.method !== 'POST') return retellError(405, 'Method not allowed');
  if (pathname === '/v2/create-phone-call') return createPhoneCall(request, context);
  let callId: string;
  try {
    callId = decodeURIComponent(pathname.slice('/v2/stop-call/'.length));
  } catch {
    return retellError(400, 'Invalid call id');
  }
  return applyProviderApiFault(
    context.fault({ provider: 'retell', operation: 'terminate', callId }),
    faultAnswers,
    () => {
      const record = context.find('retell', callId);
      if (record === undefined) return retellError(404, `Call ${callId} not found`);
      record.end();
      return new Response(null, { status: 204 });
    },
  );
}

interface CreatePhoneCallBody {
  from_number?: unknown;
  to_number?: unknown;
  override_agent_id?: unknown;
  override_agent_version?: unknown;
  metadata?: unknown;
  retell_llm_dynamic_variables?: unknown;
}

async function createPhoneCall(request: Request, context: ProviderApiContext): Promise<Response> {
  const text = await readRequestText(request, { maxBytes: maxBodyBytes });
  let body: CreatePhoneCallBody;
  try {
    body = JSON.parse(text) as CreatePhoneCallBody;
    if (body === null || typeof body !== 'object') throw new Error('not an object');
  } catch {
    return retellError(400, 'Invalid request format, please check API reference.');
  }
  const { from_number: from, to_number: to } = body;
  if (typeof from !== 'string' || typeof to !== 'string') {
    return retellError(400, 'from_number and to_number are required.');
  }
  if (!e164.test(to)) return retellError(400, `to_number ${to} is not a valid E.164 number.`);
  const line = context.lines('retell').find((candidate) => candidate.number === from);
  if (line === undefined) {
    return retellError(422, `from_number ${from} is not a phone number of this workspace.`);
  }
  const metadata = isObject(body.metadata) ? body.metadata : undefined;
  const variables = isObject(body.retell_llm_dynamic_variables)
    ? body.retell_llm_dynamic_variables
    : undefined;
  const agentId = typeof body.override_agent_id === 'string' ? body.override_agent_id : undefined;
  const agentVersion =
    typeof body.override_agent_version === 'number' ? body.override_agent_version : undefined;
  const reference = typeof metadata?.reference === 'string' ? metadata.reference : undefined;
  const info = {
    provider: 'retell' as const,
    operation: 'place' as const,
    to,
    from,
    ...(reference === undefined ? {} : { reference }),
  };
  /** The call fields the request decides, over the script's. */
  const asRequested = (call: Record<string, unknown>): Record<string, unknown> => {
    const { metadata: _metadata, retell_llm_dynamic_variables: _variables, ...rest } = call;
    return {
      ...rest,
      ...(agentId === undefined ? {} : { agent_id: agentId }),
      ...(agentVersion === undefined ? {} : { agent_version: agentVersion }),
      ...(metadata === undefined ? {} : { metadata }),
      ...(variables === undefined ? {} : { retell_llm_dynamic_variables: variables }),
    };
  };
  const asSent = (webhook: ScriptedWebhook): ScriptedWebhook => {
    if (webhook.payload.type !== 'json') return webhook;
    const { event, call } = JSON.parse(webhook.payload.body) as {
      event: string;
      call: Record<string, unknown>;
    };
    return {
      ...webhook,
      payload: { type: 'json', body: JSON.stringify({ event, call: asRequested(call) }) },
    };
  };

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
          ...(input.talkDurationMs === undefined ? {} : { talkDurationMs: input.talkDurationMs }),
        }),
      deliver: (script: CallScript) => ({ ...script, webhooks: script.webhooks.map(asSent) }),
      end: (script, atMs) => {
        const ending = endRetellCallScript(script, atMs);
        return ending === undefined
          ? undefined
          : { ...ending, webhooks: ending.webhooks.map(asSent) };
      },
    });
    return jsonResponse(registeredCall(record, asRequested), { status: 201 });
  });
}

/** The call as create-phone-call answers it: registered, not yet dialled. */
function registeredCall(
  record: ProviderApiCallRecord,
  asRequested: (call: Record<string, unknown>) => Record<string, unknown>,
): Record<string, unknown> {
  const first = record.script.webhooks[0];
  const scripted =
    first?.payload.type === 'json'
      ? (JSON.parse(first.payload.body) as { call: Record<string, unknown> }).call
      : {};
  return asRequested({
    call_type: 'phone_call',
    from_number: record.call.from,
    to_number: record.call.to,
    direction: 'outbound',
    call_id: record.call.callId,
    agent_id: scripted.agent_id,
    agent_version: scripted.agent_version,
    call_status: 'registered',
    metadata: scripted.metadata,
    retell_llm_dynamic_variables: scripted.retell_llm_dynamic_variables,
  });
}

const faultAnswers = {
  refuse: (status: number | undefined, message: string | undefined) =>
    retellError(status ?? 400, message ?? 'Invalid to_number.'),
  fail: (status: number, message: string | undefined) =>
    retellError(status, message ?? 'Internal server error.'),
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An error answer in Retell's shape. */
function retellError(status: number, message: string): Response {
  return jsonResponse({ status: 'error', message }, { status });
}
