import type { CallDirection } from '@calltrack/core';
import type { CallScript, CallScriptInput, ScriptedWebhook } from './call-script';
import { drawCustomerNumber } from './draw-customer-number';
import { createRandom, type Random } from './random';
import { stableHash } from './stable-hash';

const agentNames = ['Priya Sharma', 'Rahul Verma', 'Anjali Mehta', 'Vikram Nair'];
const groups = ['Sales', 'Support'];
/** India Standard Time, UTC+05:30, in which CallerDesk writes its times. */
const istOffsetMs = (5 * 60 + 30) * 60_000;

/**
 * The webhooks CallerDesk sends for one call through a virtual number, with the token in the
 * webhook URL's query:
 *
 * - **Live Call** payloads while the call runs (`SourceNumber`, `DestinationNumber`,
 *   `DialWhomNumber`, `Status`, `StartTime`, `CallSid`, `Direction`, `call_group`/`campid`):
 *   `AgentonRing (0-Agent)` when an agent's phone rings on an incoming (IVR) call, `Picked` or
 *   `ANSWER` when someone answers;
 * - the **Call Report** after the end (`type=call_report`, `EndTime`, `CallDuration`,
 *   `TalkDuration`, `CallRecordingUrl` when answered, `coins`, leg times, `hangup_cause`).
 *
 * Numbers are written the way CallerDesk writes them: the virtual number with a trunk `0`
 * (`08041234567`), customers as bare 10 digits, with `0` or with `91`. Times are India time
 * without a zone. Statuses: `ANSWER`; incoming `NO ANSWER (0-Agent)`, `BUSY (17)`,
 * `CONGESTION`/`Unavailable (19)`/`CHANUNAVAIL`; click-to-call (`WEBOBD`) `Cancel-Customer`,
 * `Busy (17-customer)`, `Congestion (1-customer)`. CallerDesk has no machine detection, so a
 * voicemail is a click-to-call answered (`ANSWER`) with a short talk time.
 *
 * @internal
 */
export function buildCallerDeskCallScript(input: CallScriptInput, random: Random): CallScript {
  const { line, outcome, startedAt } = input;
  const direction: CallDirection =
    input.direction ??
    (outcome === 'voicemail' ? 'outbound' : random.chance(0.65) ? 'inbound' : 'outbound');
  const customer =
    input.customerNumber ?? drawCustomerNumber(line.number, random, input.avoidNumbers);
  const [from, to] = direction === 'inbound' ? [customer, line.number] : [line.number, customer];
  const identity = createRandom(stableHash(`callerdesk-line:${line.number}`));
  const agents = agentNames.map((name) => ({ name, number: `9${identity.digits(9)}` }));
  const accountId = String(10_000 + (stableHash(`callerdesk-account:${line.tenantId}`) % 90_000));
  const agent = random.pick(agents);
  const callSid = `${Math.floor(startedAt / 1000)}.${random.int(100_000, 999_999)}`;
  const inbound = direction === 'inbound';
  const common: Record<string, string> = {
    SourceNumber: callerDeskStyle(customer, random),
    DestinationNumber: trunkStyle(line.number),
    DialWhomNumber: agent.number,
    StartTime: istTime(startedAt),
    CallSid: callSid,
    Direction: inbound ? 'IVR' : 'WEBOBD',
    ...(inbound ? {} : { campid: String(random.int(1000, 9999)) }),
    call_group: random.pick(groups),
  };
  const webhooks: ScriptedWebhook[] = [];
  const live = (atMs: number, status: string) => {
    webhooks.push({
      provider: 'callerdesk',
      atMs,
      kind: `live:${status}`,
      payload: { type: 'fields', fields: { ...common, Status: status } },
    });
  };

  // Incoming: the IVR answers (leg A), then the agent's phone rings (leg B). Click-to-call:
  // CallerDesk rings the agent first (leg A), then the customer (leg B).
  const legAPickedAt = inbound ? 0 : Math.round(random.between(3000, 9000));
  const legBStartAt = inbound
    ? Math.round(random.between(3000, 10_000))
    : legAPickedAt + Math.round(random.between(500, 1500));
  let endAt: number;
  let talkSeconds = 0;
  let legBPickedAt: number | undefined;
  let status: string;
  let hangupCause: string;
  const answered = outcome === 'completed' || outcome === 'voicemail';
  if (answered) {
    legBPickedAt =
      legBStartAt +
      Math.round(
        outcome === 'voicemail' ? random.between(15_000, 25_000) : random.between(3000, 15_000),
      );
    if (inbound) live(legBStartAt + Math.round(random.between(100, 800)), 'AgentonRing (0-Agent)');
    live(legBPickedAt + Math.round(random.between(100, 800)), inbound ? 'Picked' : 'ANSWER');
    talkSeconds =
      input.talkDurationMs !== undefined
        ? Math.max(1, Math.round(input.talkDurationMs / 1000))
        : outcome === 'voicemail'
          ? random.int(12, 35)
          : Math.round(
              Math.min(20 * 60_000, Math.max(10_000, random.logNormal(100_000, 0.8))) / 1000,
            );
    endAt = legBPickedAt + talkSeconds * 1000;
    status = 'ANSWER';
    hangupCause = random.chance(0.5) ? 'ANSWER(16-customer)' : 'ANSWER(16-agent)';
  } else if (outcome === 'no-answer') {
    if (inbound) live(legBStartAt + Math.round(random.between(100, 800)), 'AgentonRing (0-Agent)');
    endAt = legBStartAt + Math.round(random.between(20_000, 40_000));
    status = inbound ? 'NO ANSWER (0-Agent)' : 'Cancel-Customer';
    hangupCause = inbound ? 'NOANSWER(0-Agent)' : 'NOANSWER(0-customer)';
  } else if (outcome === 'busy') {
    endAt = legBStartAt + Math.round(random.between(1000, 5000));
    status = inbound ? 'BUSY (17)' : 'Busy (17-customer)';
    hangupCause = inbound ? 'BUSY(17-Agent)' : 'BUSY(17-customer)';
  } else {
    endAt = legBStartAt + Math.round(random.between(500, 3000));
    status = inbound
      ? random.pick(['CONGESTION', 'Unavailable (19)', 'CHANUNAVAIL'])
      : random.pick(['Congestion (1-customer)', 'Unavailable (19-customer)']);
    hangupCause = inbound ? 'CONGESTION(34)' : 'CONGESTION(1-customer)';
  }
  const totalSeconds = Math.max(1, Math.round(endAt / 1000));
  const minutes = Math.ceil(totalSeconds / 60);
  const day = istTime(startedAt).slice(0, 10).replaceAll('-', '/');
  const report: Record<string, string> = {
    ...common,
    CallDuration: String(totalSeconds),
    coins: String(inbound ? minutes : 2 * minutes),
    Status: status,
    EndTime: istTime(startedAt + endAt),
    CallRecordingUrl: answered
      ? `https://callrecords.callerdesk.io/${inbound ? 'incoming' : 'outgoing'}/${day}/${callSid}.mp3`
      : '',
    TalkDuration: String(talkSeconds),
    receiver_name: agent.name,
    error_code: '',
    LegA_Picked_time: istTime(startedAt + legAPickedAt),
    LegB_Start_time: istTime(startedAt + legBStartAt),
    LegB_Picked_time: legBPickedAt === undefined ? '' : istTime(startedAt + legBPickedAt),
    type: 'call_report',
    hangup_cause: hangupCause,
    account_id: accountId,
  };
  webhooks.push({
    provider: 'callerdesk',
    atMs: endAt + Math.round(random.between(2000, 10_000)),
    kind: 'report',
    payload: { type: 'fields', fields: report },
  });

  return {
    provider: 'callerdesk',
    callId: callSid,
    line,
    outcome,
    direction,
    from,
    to,
    customerNumber: customer,
    status: outcome === 'voicemail' ? 'completed' : outcome,
    providerStatus: status,
    talkDurationMs: talkSeconds * 1000,
    startedAt,
    endedAt: startedAt + endAt,
    webhooks,
  };
}

/** `yyyy-mm-dd hh:mm:ss` in India time, CallerDesk's format. */
function istTime(milliseconds: number): string {
  return new Date(milliseconds + istOffsetMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** An Indian number with its trunk `0` (`08041234567`); other numbers stay E.164. */
function trunkStyle(number: string): string {
  return number.startsWith('+91') ? `0${number.slice(3)}` : number;
}

/** A customer's Indian number in one of the shapes CallerDesk sends: bare, with `0` or `91`. */
function callerDeskStyle(number: string, random: Random): string {
  if (!number.startsWith('+91')) return number;
  const national = number.slice(3);
  const shape = random.next();
  return shape < 0.6 ? national : shape < 0.8 ? `0${national}` : `91${national}`;
}
