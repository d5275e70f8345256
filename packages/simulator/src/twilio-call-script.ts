import type { CallDirection } from '@calltrack/core';
import type { CallScript, CallScriptInput, ScriptedWebhook } from './call-script';
import { drawCustomerNumber } from './draw-customer-number';
import { formatTwilioTimestamp } from './format-twilio-timestamp';
import type { Random } from './random';
import { stableHash } from './stable-hash';

interface Place {
  city: string;
  state: string;
  zip: string;
}

/** Where US area codes are, for the `FromCity`/`ToCity`… fields Twilio adds. */
const places: Readonly<Record<string, Place>> = {
  '415': { city: 'SAN FRANCISCO', state: 'CA', zip: '94105' },
  '628': { city: 'SAN FRANCISCO', state: 'CA', zip: '94107' },
  '510': { city: 'OAKLAND', state: 'CA', zip: '94612' },
  '650': { city: 'PALO ALTO', state: 'CA', zip: '94301' },
  '408': { city: 'SAN JOSE', state: 'CA', zip: '95113' },
  '212': { city: 'NEW YORK', state: 'NY', zip: '10007' },
  '312': { city: 'CHICAGO', state: 'IL', zip: '60602' },
  '206': { city: 'SEATTLE', state: 'WA', zip: '98104' },
  '512': { city: 'AUSTIN', state: 'TX', zip: '78701' },
  '617': { city: 'BOSTON', state: 'MA', zip: '02108' },
  '305': { city: 'MIAMI', state: 'FL', zip: '33130' },
};

const machineAnswers = [
  'machine_end_beep',
  'machine_end_beep',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
] as const;

/**
 * The webhooks Twilio sends for one call with `StatusCallbackEvent=initiated ringing answered
 * completed`, async answering machine detection on outbound calls (`MachineDetection=
 * DetectMessageEnd`, `AsyncAmd=true`) and recording on most answered calls:
 *
 * - status callbacks with `SequenceNumber`, `Timestamp` (RFC 2822), `CallbackSource`, the geo
 *   fields and, on the final one, `CallDuration` (talk seconds), `Duration` (billed minutes),
 *   `SipResponseCode` (486 busy, 487 no answer, 404/480/503 failed) and `AnsweredBy`;
 * - the `AsyncAmdStatusCallback` (`AnsweredBy`, `MachineDetectionDuration` in ms);
 * - the `RecordingStatusCallback` (`RecordingStatus=completed`) a few seconds after the end.
 *
 * Inbound calls are answered by the app (completed); busy, no-answer, failed and voicemail
 * calls are outbound (`outbound-api`) unless a direction is forced.
 *
 * @internal
 */
export function buildTwilioCallScript(input: CallScriptInput, random: Random): CallScript {
  const { line, outcome, startedAt } = input;
  const direction: CallDirection =
    input.direction ??
    (outcome === 'completed' ? (random.chance(0.55) ? 'inbound' : 'outbound') : 'outbound');
  const customer =
    input.customerNumber ?? drawCustomerNumber(line.number, random, input.avoidNumbers);
  const [from, to] = direction === 'inbound' ? [customer, line.number] : [line.number, customer];
  const callSid = `CA${random.hex(32)}`;
  const accountSid = `AC${hex32(`account:${line.tenantId}`)}`;
  const machineDetection =
    input.machineDetection ??
    (direction === 'outbound' && (outcome === 'voicemail' || random.chance(0.6)));

  const common: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    CallbackSource: 'call-progress-events',
    Direction: direction === 'inbound' ? 'inbound' : 'outbound-api',
    ...geo('From', from),
    ...geo('Caller', from),
    ...geo('To', to),
    ...geo('Called', to),
    From: from,
    Caller: from,
    To: to,
    Called: to,
  };
  const webhooks: ScriptedWebhook[] = [];
  let sequence = 0;
  const status = (atMs: number, callStatus: string, extra: Record<string, string> = {}) => {
    webhooks.push({
      provider: 'twilio',
      atMs,
      kind: `status:${callStatus}`,
      payload: {
        type: 'form',
        params: {
          ...common,
          Timestamp: formatTwilioTimestamp(startedAt + atMs),
          SequenceNumber: String(sequence),
          CallStatus: callStatus,
          ...extra,
        },
      },
    });
    sequence += 1;
  };
  const unanswered = (sipResponseCode: number) => ({
    SipResponseCode: String(sipResponseCode),
    Duration: '0',
    CallDuration: '0',
  });

  status(0, 'initiated');
  const ringingAt = Math.round(
    direction === 'inbound' ? random.between(60, 400) : random.between(300, 1500),
  );
  let endAt: number;
  let providerStatus: string = outcome;
  let answeredBy: string | undefined;
  let talkSeconds = 0;

  if (outcome === 'failed') {
    endAt = Math.round(random.between(500, 3000));
    providerStatus = 'failed';
    status(endAt, 'failed', unanswered(random.pick([404, 480, 503, 500])));
  } else if (outcome === 'busy') {
    status(ringingAt, 'ringing');
    endAt = ringingAt + Math.round(random.between(1500, 8000));
    status(endAt, 'busy', unanswered(486));
  } else if (outcome === 'no-answer') {
    status(ringingAt, 'ringing');
    endAt = ringingAt + Math.round(random.between(25_000, 60_000));
    status(endAt, 'no-answer', unanswered(487));
  } else {
    status(ringingAt, 'ringing');
    const ringMs =
      outcome === 'voicemail'
        ? random.between(12_000, 25_000)
        : direction === 'inbound'
          ? random.between(800, 4000)
          : clamp(random.logNormal(9000, 0.5), 2500, 30_000);
    const answeredAt = ringingAt + Math.round(ringMs);
    status(answeredAt, 'in-progress');
    let detectionMs = 0;
    if (machineDetection) {
      // Enable stops listening once it knows; DetectMessageEnd waits for the greeting's end.
      const waitsForBeep = machineDetection !== 'Enable';
      answeredBy =
        outcome !== 'voicemail'
          ? 'human'
          : waitsForBeep
            ? random.pick(machineAnswers)
            : 'machine_start';
      detectionMs = Math.round(
        outcome === 'voicemail' && waitsForBeep
          ? random.between(4000, 15_000)
          : random.between(1200, 4000),
      );
      webhooks.push({
        provider: 'twilio',
        atMs: answeredAt + detectionMs + Math.round(random.between(50, 400)),
        kind: 'amd',
        query: { tenant: line.tenantId },
        payload: {
          type: 'form',
          params: {
            AccountSid: accountSid,
            CallSid: callSid,
            AnsweredBy: answeredBy,
            MachineDetectionDuration: String(detectionMs),
          },
        },
      });
    }
    talkSeconds =
      input.talkDurationMs !== undefined
        ? Math.max(1, Math.round(input.talkDurationMs / 1000))
        : outcome === 'voicemail'
          ? Math.round((detectionMs + random.between(8000, 30_000)) / 1000)
          : Math.round(clamp(random.logNormal(110_000, 0.8), 12_000, 20 * 60_000) / 1000);
    endAt = answeredAt + talkSeconds * 1000;
    status(endAt, 'completed', {
      Duration: String(Math.ceil(talkSeconds / 60)),
      CallDuration: String(talkSeconds),
      ...(answeredBy === undefined ? {} : { AnsweredBy: answeredBy }),
    });
    if (input.recording ?? random.chance(outcome === 'voicemail' ? 0.5 : 0.75)) {
      const recordingSid = `RE${random.hex(32)}`;
      webhooks.push({
        provider: 'twilio',
        atMs: endAt + Math.round(random.between(1500, 8000)),
        kind: 'recording',
        query: { tenant: line.tenantId },
        payload: {
          type: 'form',
          params: {
            AccountSid: accountSid,
            CallSid: callSid,
            RecordingSid: recordingSid,
            RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Recordings/${recordingSid}`,
            RecordingStatus: 'completed',
            RecordingDuration: String(Math.max(1, talkSeconds - 1)),
            RecordingChannels: direction === 'inbound' ? '1' : '2',
            RecordingStartTime: formatTwilioTimestamp(startedAt + answeredAt),
            RecordingSource: direction === 'inbound' ? 'RecordVerb' : 'OutboundAPI',
            RecordingTrack: 'both',
            ErrorCode: '0',
          },
        },
      });
    }
  }

  webhooks.sort((left, right) => left.atMs - right.atMs);
  return {
    provider: 'twilio',
    callId: callSid,
    line,
    outcome,
    direction,
    from,
    to,
    customerNumber: customer,
    status: outcome === 'voicemail' ? 'completed' : outcome,
    providerStatus: outcome === 'voicemail' ? 'completed' : providerStatus,
    ...(answeredBy === undefined ? {} : { answeredBy }),
    talkDurationMs: talkSeconds * 1000,
    startedAt,
    endedAt: startedAt + endAt,
    webhooks,
  };
}

/** The `<prefix>City/State/Zip/Country` fields Twilio derives from a number. */
function geo(prefix: string, number: string): Record<string, string> {
  if (number.startsWith('+1')) {
    const place = places[number.slice(2, 5)];
    return {
      [`${prefix}Country`]: 'US',
      ...(place === undefined
        ? {}
        : {
            [`${prefix}City`]: place.city,
            [`${prefix}State`]: place.state,
            [`${prefix}Zip`]: place.zip,
          }),
    };
  }
  if (number.startsWith('+91')) return { [`${prefix}Country`]: 'IN' };
  if (number.startsWith('+44')) return { [`${prefix}Country`]: 'GB' };
  return {};
}

/** 32 stable hex digits derived from `text`. */
function hex32(text: string): string {
  let hex = '';
  for (let round = 0; hex.length < 32; round += 1) {
    hex += stableHash(`${round}:${text}`).toString(16).padStart(8, '0');
  }
  return hex.slice(0, 32);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
