import type { CallDirection, CallStatus } from '@calltrack/core';
import type { CallScript, CallScriptInput, ScriptedWebhook } from './call-script';
import {
  brokenConversation,
  type ConversationTemplate,
  inboundConversations,
  outboundConversations,
  voicemailConversation,
} from './conversation-templates';
import { drawCustomerNumber } from './draw-customer-number';
import { createRandom, type Random } from './random';
import { retellCallCost } from './retell-call-cost';
import { stableHash } from './stable-hash';

const customerNames = [
  'José',
  'Priya',
  'Emma',
  'Liam',
  'Aisha',
  'Chen',
  'Olivia',
  'Mateo',
  'Sofia',
  'Noah',
  'Fatima',
  'Lucas',
];
const agentNames = ['Ava', 'Leo', 'Maya', 'Noah'];
const companies = ['Sunrise Dental', 'Northside Physio', 'Harbor Auto Care', 'Maple Realty'];

/**
 * The webhooks Retell sends for one phone call of an AI agent (the default `webhook_events`):
 *
 * - `call_started` once the call connected (never for calls that did not: Retell's docs);
 * - `call_ended` with `disconnection_reason`, `duration_ms`, the transcript with word timings,
 *   recording and log URLs, latency, token usage and `call_cost`;
 * - `call_analyzed` a few seconds later, the same call plus `call_analysis` (summary, sentiment,
 *   success, `in_voicemail`, custom data).
 *
 * Outcomes map to Retell's reasons: completed → `user_hangup`/`agent_hangup`; no-answer →
 * `dial_no_answer`; busy → `dial_busy`; failed → `dial_failed`/`telephony_provider_unavailable`
 * on outbound calls and an `error_llm_websocket_*` after the greeting on inbound ones; voicemail
 * → `voicemail_reached` with `in_voicemail: true`. Not-connected calls carry `call_status:
 * "not_connected"`, no `start_timestamp` and `duration_ms: 0`.
 *
 * @internal
 */
export function buildRetellCallScript(input: CallScriptInput, random: Random): CallScript {
  const { line, outcome, startedAt } = input;
  const direction: CallDirection =
    input.direction ??
    (outcome === 'completed' || outcome === 'failed'
      ? random.chance(0.5)
        ? 'inbound'
        : 'outbound'
      : 'outbound');
  const customer =
    input.customerNumber ?? drawCustomerNumber(line.number, random, input.avoidNumbers);
  const [from, to] = direction === 'inbound' ? [customer, line.number] : [line.number, customer];
  const callId = random.alphanumeric(32);
  const identity = createRandom(stableHash(`retell-agent:${line.number}`));
  const agentId = identity.alphanumeric(32);
  const agentName = identity.pick(agentNames);
  const company = companies[stableHash(`company:${line.tenantId}`) % companies.length]!;
  const customerName = random.pick(customerNames);
  const connects =
    outcome === 'completed' ||
    outcome === 'voicemail' ||
    (outcome === 'failed' && direction === 'inbound');

  let reason: string;
  if (outcome === 'completed') reason = random.chance(0.6) ? 'user_hangup' : 'agent_hangup';
  else if (outcome === 'voicemail') reason = 'voicemail_reached';
  else if (outcome === 'busy') reason = 'dial_busy';
  else if (outcome === 'no-answer') reason = 'dial_no_answer';
  else if (connects) {
    reason = random.pick(['error_llm_websocket_lost_connection', 'error_llm_websocket_runtime']);
  } else reason = random.pick(['dial_failed', 'dial_failed', 'telephony_provider_unavailable']);

  const base: Record<string, unknown> = {
    call_type: 'phone_call',
    from_number: from,
    to_number: to,
    direction,
    call_id: callId,
    agent_id: agentId,
    agent_version: identity.int(1, 9),
    agent_name: `${company} (${agentName})`,
  };
  const metadata =
    direction === 'outbound'
      ? { leadId: `lead_${random.digits(4)}`, source: 'calltrack-simulator' }
      : { source: 'calltrack-simulator' };
  const variables = { customer_name: customerName };
  const webhooks: ScriptedWebhook[] = [];
  const send = (atMs: number, event: string, call: Record<string, unknown>) => {
    webhooks.push({
      provider: 'retell',
      atMs,
      kind: event,
      payload: { type: 'json', body: JSON.stringify({ event, call }) },
    });
  };

  let endAt: number;
  let durationMs = 0;
  let ended: Record<string, unknown>;
  let template: ConversationTemplate | undefined;
  if (connects) {
    // Outbound calls ring first (Retell reports no ringing); inbound ones are picked up at once.
    const connectAt = Math.round(
      direction === 'inbound' ? random.between(300, 1500) : random.between(4000, 20_000),
    );
    template =
      outcome === 'voicemail'
        ? voicemailConversation
        : outcome === 'failed'
          ? brokenConversation
          : random.pick(direction === 'inbound' ? inboundConversations : outboundConversations);
    const fill = (text: string) =>
      text
        .replaceAll('{customer}', customerName)
        .replaceAll('{agent}', agentName)
        .replaceAll('{company}', company);
    const turns = template.turns.map((turn) => ({ role: turn.role, content: fill(turn.content) }));
    const transcriptObject = withWordTimings(turns, random);
    const spokenMs = Math.round(
      ((transcriptObject.at(-1)?.words.at(-1)?.end as number | undefined) ?? 0) * 1000,
    );
    durationMs =
      input.talkDurationMs !== undefined
        ? Math.max(1000, Math.round(input.talkDurationMs))
        : outcome === 'failed' || outcome === 'voicemail'
          ? spokenMs + Math.round(random.between(800, 4000))
          : Math.max(spokenMs + 1500, Math.round(random.logNormal(95_000, 0.6)));
    const start = startedAt + connectAt;
    const end = start + durationMs;
    endAt = connectAt + durationMs + Math.round(random.between(200, 1200));
    send(connectAt + Math.round(random.between(100, 600)), 'call_started', {
      ...base,
      call_status: 'ongoing',
      metadata,
      retell_llm_dynamic_variables: variables,
      custom_sip_headers: {},
      start_timestamp: start,
      opt_in_signed_url: false,
      data_storage_setting: 'everything',
    });
    const urls = `https://dxc03zgurdly9.cloudfront.net/${callId}`;
    const agentTurns = turns.filter((turn) => turn.role === 'agent').length;
    const latencies = Array.from({ length: Math.max(1, agentTurns) }, () =>
      Math.round(random.between(600, 1500)),
    );
    ended = {
      ...base,
      call_status: outcome === 'failed' ? 'error' : 'ended',
      metadata,
      retell_llm_dynamic_variables: variables,
      start_timestamp: start,
      end_timestamp: end,
      duration_ms: durationMs,
      transcript: turns
        .map((turn) => `${turn.role === 'agent' ? 'Agent' : 'User'}: ${turn.content}\n`)
        .join(''),
      transcript_object: transcriptObject,
      recording_url: `${urls}/recording.wav`,
      recording_multi_channel_url: `${urls}/recording_multichannel.wav`,
      public_log_url: `${urls}/public.log`,
      disconnection_reason: reason,
      latency: { e2e: summarize(latencies) },
      llm_token_usage: tokenUsage(agentTurns, random),
      call_cost: retellCallCost(durationMs),
      opt_in_signed_url: false,
      data_storage_setting: 'everything',
    };
  } else {
    endAt = Math.round(
      outcome === 'no-answer'
        ? random.between(25_000, 45_000)
        : outcome === 'busy'
          ? random.between(3000, 9000)
          : random.between(800, 3000),
    );
    ended = {
      ...base,
      call_status: 'not_connected',
      metadata,
      retell_llm_dynamic_variables: variables,
      end_timestamp: startedAt + endAt,
      duration_ms: 0,
      disconnection_reason: reason,
      call_cost: retellCallCost(0),
      opt_in_signed_url: false,
      data_storage_setting: 'everything',
    };
  }
  send(endAt, 'call_ended', ended);
  const analysis = template
    ? {
        call_summary: template.summary
          .replaceAll('{customer}', customerName)
          .replaceAll('{agent}', agentName),
        in_voicemail: outcome === 'voicemail',
        user_sentiment: template.sentiment,
        call_successful: template.successful,
        custom_analysis_data: template.custom,
      }
    : {
        call_summary:
          outcome === 'busy'
            ? 'The line was busy; the call did not connect.'
            : outcome === 'no-answer'
              ? 'Nobody answered the call.'
              : 'The call could not be placed.',
        in_voicemail: false,
        user_sentiment: 'Unknown',
        call_successful: false,
        custom_analysis_data: {},
      };
  send(endAt + Math.round(random.between(2000, 9000)), 'call_analyzed', {
    ...ended,
    call_analysis: analysis,
  });

  const status: CallStatus = outcome === 'voicemail' ? 'completed' : (outcome satisfies CallStatus);
  return {
    provider: 'retell',
    callId,
    line,
    outcome,
    direction,
    from,
    to,
    customerNumber: customer,
    status,
    providerStatus: reason,
    talkDurationMs: durationMs,
    startedAt,
    endedAt: startedAt + endAt,
    webhooks,
  };
}

interface TimedTurn {
  role: string;
  content: string;
  words: { word: string; start: number; end: number }[];
}

/** Word timings in seconds from the start of the call, the way Retell's `transcript_object` has them. */
function withWordTimings(
  turns: readonly { role: string; content: string }[],
  random: Random,
): TimedTurn[] {
  let cursor = random.between(0.3, 0.6);
  return turns.map((turn) => {
    const words = turn.content.split(/\s+/).map((word) => {
      const start = round2(cursor);
      const end = round2(cursor + random.between(0.18, 0.42));
      cursor = end + random.between(0.02, 0.08);
      return { word, start, end };
    });
    cursor += random.between(0.4, 1.2);
    return { role: turn.role, content: turn.content, words };
  });
}

function summarize(values: number[]) {
  const sorted = [...values].sort((left, right) => left - right);
  const at = (share: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.at(-1)!,
    min: sorted[0]!,
    num: sorted.length,
    values,
  };
}

function tokenUsage(requests: number, random: Random) {
  const values = Array.from({ length: Math.max(1, requests) }, () => random.int(900, 1600));
  return {
    values,
    average: Math.round(values.reduce((sum, value) => sum + value, 0) / values.length),
    num_requests: values.length,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
