import { jsonResponse, timingSafeEqual } from '@calltrack/core';
import { applyProviderApiFault } from './apply-provider-api-fault';
import type { CallScript, ScriptedWebhook } from './call-script';
import { createCallScript } from './create-call-script';
import { findDemoLine } from './find-demo-line';
import type { ProviderApiContext } from './provider-api-context';
import { stableHash } from './stable-hash';

/** The path of CallerDesk's click-to-call API. @internal */
export const callerDeskClickToCallPath = '/api/click_to_call_v2';

/**
 * CallerDesk's click-to-call (`GET /api/click_to_call_v2`): the `authcode` in the query,
 * `calling_party_a` (the agent, rung first), `calling_party_b` (the customer), `deskphone` (the
 * virtual number) and an optional `campid`, echoed in the call's webhooks. CallerDesk answers
 * HTTP 200 either way: `{ type: 'success', message, campid }` (no call id: it comes with the
 * webhooks) or `{ type: 'error', message }`. @internal
 */
export async function handleCallerDeskClickToCall(
  request: Request,
  context: ProviderApiContext,
): Promise<Response> {
  if (request.method !== 'GET') {
    return jsonResponse({ type: 'error', message: 'Method not allowed' }, { status: 405 });
  }
  const query = new URL(request.url).searchParams;
  if (!timingSafeEqual(query.get('authcode') ?? '', context.callerDeskAuthCode)) {
    return refusal('Invalid authcode');
  }
  const agent = digitsOf(query.get('calling_party_a'));
  const customer = digitsOf(query.get('calling_party_b'));
  const deskphone = query.get('deskphone');
  if (agent === undefined || customer === undefined || !deskphone) {
    return refusal('calling_party_a, calling_party_b and deskphone are required');
  }
  const line = findDemoLine(deskphone, context.lines('callerdesk'));
  if (line === undefined) return refusal('Invalid deskphone');
  const to = toE164(customer);
  const campid =
    query.get('campid') ?? String(10_000 + (stableHash(`${customer}:${Date.now()}`) % 90_000));
  const info = {
    provider: 'callerdesk' as const,
    operation: 'place' as const,
    to,
    from: line.number,
    reference: campid,
  };
  /** The fields this request decides: the agent rung, the campaign id echoed. */
  const asSent = (webhook: ScriptedWebhook): ScriptedWebhook =>
    webhook.payload.type === 'fields'
      ? {
          ...webhook,
          payload: {
            type: 'fields',
            fields: { ...webhook.payload.fields, DialWhomNumber: agent, campid },
          },
        }
      : webhook;

  return applyProviderApiFault(
    context.fault(info),
    {
      refuse: (status, message) => refusal(message ?? 'Invalid member number', status ?? 200),
      fail: (status, message) =>
        jsonResponse({ type: 'error', message: message ?? 'Internal Server Error' }, { status }),
    },
    () => {
      context.place({
        info,
        line,
        agentNumber: agent,
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
      });
      return jsonResponse({ type: 'success', message: 'Call initiated successfully', campid });
    },
  );
}

function refusal(message: string, status = 200): Response {
  return jsonResponse({ type: 'error', message }, { status });
}

function digitsOf(value: string | null): string | undefined {
  const digits = value?.replace(/\D/g, '') ?? '';
  return digits.length >= 8 && digits.length <= 15 ? digits : undefined;
}

/** CallerDesk's numbers back to E.164: 10 digits are Indian, `0` + 10 too, the rest international. */
function toE164(digits: string): string {
  if (digits.length === 10) return `+91${digits}`;
  if (digits.length === 11 && digits.startsWith('0')) return `+91${digits.slice(1)}`;
  return `+${digits}`;
}
