import { parseCallerDeskWebhook } from '@calltrack/callerdesk';
import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import { parseRetellWebhook } from '@calltrack/retell';
import { parseTwilioWebhook } from '@calltrack/twilio';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallScript, ScriptedWebhook } from './call-script';
import { createCallScript } from './create-call-script';
import { demoLines } from './demo-lines';
import { simulatedOutcomes } from './simulated-outcome';
import type { SimulatorLine } from './simulator-line';

const tenant = { tenantId: 'demo' };

/** The events the provider package makes of a scripted webhook. */
function parse(webhook: ScriptedWebhook): CallEvent[] {
  const { payload } = webhook;
  if (payload.type === 'form') return parseTwilioWebhook({ params: payload.params, tenant });
  if (payload.type === 'json') return parseRetellWebhook({ payload: payload.body, tenant });
  return parseCallerDeskWebhook({ payload: payload.fields, tenant });
}

const scriptOptions = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  line: fc.constantFrom(...demoLines),
  outcome: fc.constantFrom(...simulatedOutcomes),
  direction: fc.option(fc.constantFrom('inbound' as const, 'outbound' as const), {
    nil: undefined,
  }),
  startedAt: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
});

describe('createCallScript', () => {
  it('scripts webhooks the provider packages parse into one complete lifecycle', () => {
    fc.assert(
      fc.property(scriptOptions, (options) => {
        const script = createCallScript(options);
        expect(script.provider).toBe(options.line.provider);
        expect(script.webhooks.length).toBeGreaterThan(0);
        const times = script.webhooks.map((webhook) => webhook.atMs);
        expect(times).toEqual([...times].sort((left, right) => left - right));
        expect(times[0]).toBeGreaterThanOrEqual(0);
        expect(script.endedAt).toBeGreaterThan(script.startedAt);

        const events = script.webhooks.flatMap(parse);
        for (const event of events) expect(event.callId).toBe(script.callId);
        const ended = events.filter((event) => event.type === 'call.ended');
        expect(ended).toHaveLength(1);
        expect(ended[0]!.status).toBe(script.status);
        expect(ended[0]!.data?.durationMs).toBe(script.talkDurationMs);
        expect(ended[0]!.direction).toBe(script.direction);
        expect(ended[0]!.from).toBe(script.from);
        expect(ended[0]!.to).toBe(script.to);
        expect(script.status).toBe(options.outcome === 'voicemail' ? 'completed' : options.outcome);
        if (options.direction !== undefined) expect(script.direction).toBe(options.direction);
        // Every call announces itself before it ends, except where the provider sends only the
        // end: Retell's calls that never connected, CallerDesk's busy and failed calls (a report).
        const starts = events.filter((event) => event.type === 'call.initiated');
        const endOnly =
          (script.provider === 'retell' && script.talkDurationMs === 0) ||
          (script.provider === 'callerdesk' && script.webhooks.length === 1);
        if (!endOnly) {
          expect(starts.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('draws plausible customer numbers that are never a line', () => {
    fc.assert(
      fc.property(scriptOptions, (options) => {
        const script = createCallScript(options);
        const { customerNumber, line } = script;
        expect(demoLines.map((demo) => demo.number)).not.toContain(customerNumber);
        if (line.number.startsWith('+1')) expect(customerNumber).toMatch(/^\+1\d{3}55501\d{2}$/);
        else expect(customerNumber).toMatch(/^\+91[6-9]\d{9}$/);
        expect(script.direction === 'inbound' ? script.from : script.to).toBe(customerNumber);
        expect(script.direction === 'inbound' ? script.to : script.from).toBe(line.number);
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic: the same options give the same script, another seed another call', () => {
    const options = {
      line: demoLines[0]!,
      outcome: 'completed' as const,
      seed: 42,
      startedAt: 1_750_000_000_000,
    };
    expect(createCallScript(options)).toEqual(createCallScript(options));
    expect(createCallScript({ ...options, seed: 43 }).callId).not.toBe(
      createCallScript(options).callId,
    );
  });

  it('honours a forced talk time and customer number', () => {
    for (const line of demoLines) {
      const script = createCallScript({
        line,
        outcome: 'completed',
        seed: 1,
        talkDurationMs: 61_400,
        customerNumber: '+15005550006',
      });
      expect(script.customerNumber).toBe('+15005550006');
      expect(script.talkDurationMs).toBe(line.provider === 'retell' ? 61_400 : 61_000);
    }
  });

  it('refuses an unknown outcome, provider or seed', () => {
    const line = demoLines[0]!;
    expect(() => createCallScript({ line, outcome: 'hung-up' as never, seed: 1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      createCallScript({
        line: { ...line, provider: 'vapi' } as unknown as SimulatorLine,
        outcome: 'busy',
        seed: 1,
      }),
    ).toThrow(/Unknown simulator provider "vapi"/);
    expect(() => createCallScript({ line, outcome: 'busy', seed: 0.5 })).toThrow(/seed/);
  });
});

describe('Twilio scripts', () => {
  const twilioLine = demoLines.find((line) => line.provider === 'twilio')!;
  const script = (
    outcome: (typeof simulatedOutcomes)[number],
    seed = 5,
    direction?: 'inbound' | 'outbound',
  ) =>
    createCallScript({
      line: twilioLine,
      outcome,
      seed,
      startedAt: Date.UTC(2026, 2, 1, 9, 30),
      ...(direction ? { direction } : {}),
    });
  const params = (call: CallScript, kind: string) => {
    const webhook = call.webhooks.find((candidate) => candidate.kind === kind);
    if (webhook?.payload.type !== 'form') throw new Error(`no ${kind} webhook`);
    return webhook.payload.params;
  };

  it('numbers the status callbacks and stamps them in RFC 2822', () => {
    for (const outcome of simulatedOutcomes) {
      const call = script(outcome);
      const statuses = call.webhooks.filter((webhook) => webhook.kind.startsWith('status:'));
      statuses.forEach((webhook, index) => {
        if (webhook.payload.type !== 'form') throw new Error('form expected');
        expect(webhook.payload.params.SequenceNumber).toBe(String(index));
        expect(webhook.payload.params.CallbackSource).toBe('call-progress-events');
        expect(webhook.payload.params.Timestamp).toMatch(
          /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
        );
        expect(webhook.payload.params.CallSid).toMatch(/^CA[0-9a-f]{32}$/);
        expect(webhook.payload.params.AccountSid).toMatch(/^AC[0-9a-f]{32}$/);
      });
      expect(statuses[0]!.kind).toBe('status:initiated');
    }
    expect(params(script('completed'), 'status:initiated').Timestamp).toBe(
      'Sun, 01 Mar 2026 09:30:00 +0000',
    );
  });

  it('reports the end the way Twilio does for each outcome', () => {
    expect(params(script('busy'), 'status:busy')).toMatchObject({
      SipResponseCode: '486',
      CallDuration: '0',
      Duration: '0',
    });
    expect(params(script('no-answer'), 'status:no-answer')).toMatchObject({
      SipResponseCode: '487',
      CallDuration: '0',
    });
    expect(params(script('failed'), 'status:failed').SipResponseCode).toMatch(
      /^(404|480|500|503)$/,
    );
    const voicemail = script('voicemail');
    expect(voicemail.direction).toBe('outbound');
    expect(voicemail.answeredBy).toMatch(/^machine_end_(beep|silence|other)$/);
    expect(params(voicemail, 'amd')).toMatchObject({ AnsweredBy: voicemail.answeredBy });
    expect(Number(params(voicemail, 'amd').MachineDetectionDuration)).toBeGreaterThan(1000);
    const completed = params(voicemail, 'status:completed');
    expect(completed).toMatchObject({
      CallStatus: 'completed',
      AnsweredBy: voicemail.answeredBy,
      Direction: 'outbound-api',
    });
    expect(Number(completed.Duration)).toBe(Math.ceil(Number(completed.CallDuration) / 60));
    const inbound = script('completed', 5, 'inbound');
    expect(params(inbound, 'status:completed')).toMatchObject({
      Direction: 'inbound',
      From: inbound.customerNumber,
      To: twilioLine.number,
      ToCity: 'SAN FRANCISCO',
    });
  });

  it('names the tenant in the URLs of callbacks without numbers', () => {
    for (let seed = 0; seed < 20; seed += 1) {
      for (const webhook of script('voicemail', seed).webhooks) {
        if (webhook.kind === 'amd' || webhook.kind === 'recording') {
          expect(webhook.query).toEqual({ tenant: twilioLine.tenantId });
          if (webhook.payload.type === 'form') expect(webhook.payload.params.From).toBeUndefined();
        } else {
          expect(webhook.query).toBeUndefined();
        }
      }
    }
  });

  it('answers a machine by the detection mode: machine_start with Enable, machine_end_* otherwise', () => {
    for (let seed = 0; seed < 10; seed += 1) {
      // A fixed start: two scripts made a millisecond apart would differ in their times.
      const options = {
        line: twilioLine,
        outcome: 'voicemail' as const,
        seed,
        startedAt: Date.parse('2026-03-02T15:00:00.000Z'),
      };
      const enable = createCallScript({ ...options, machineDetection: 'Enable' });
      expect(params(enable, 'amd').AnsweredBy).toBe('machine_start');
      expect(enable.answeredBy).toBe('machine_start');
      const messageEnd = createCallScript({ ...options, machineDetection: 'DetectMessageEnd' });
      expect(params(messageEnd, 'amd').AnsweredBy).toMatch(/^machine_end_/);
      expect(createCallScript({ ...options, machineDetection: true })).toEqual(messageEnd);
      const human = createCallScript({
        ...options,
        outcome: 'completed',
        machineDetection: 'Enable',
        direction: 'outbound',
      });
      expect(params(human, 'amd').AnsweredBy).toBe('human');
    }
  });
});

describe('Retell scripts', () => {
  const line = demoLines.find((candidate) => candidate.provider === 'retell')!;
  const bodies = (call: CallScript) =>
    call.webhooks.map((webhook) => {
      if (webhook.payload.type !== 'json') throw new Error('json expected');
      return JSON.parse(webhook.payload.body) as { event: string; call: Record<string, unknown> };
    });

  it('sends call_started only for connected calls, then call_ended and call_analyzed', () => {
    for (const outcome of simulatedOutcomes) {
      const call = createCallScript({ line, outcome, seed: 8, direction: 'outbound' });
      const events = bodies(call).map((body) => body.event);
      const connected = outcome === 'completed' || outcome === 'voicemail';
      expect(events).toEqual(
        connected
          ? ['call_started', 'call_ended', 'call_analyzed']
          : ['call_ended', 'call_analyzed'],
      );
    }
  });

  it('carries the agent side: agent, transcript with word timings, analysis and cost', () => {
    const call = createCallScript({ line, outcome: 'completed', seed: 9 });
    const [started, ended, analyzed] = bodies(call);
    expect(started!.call).toMatchObject({
      call_status: 'ongoing',
      agent_id: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
    });
    expect(ended!.call).toMatchObject({
      call_status: 'ended',
      disconnection_reason: expect.stringMatching(/^(user|agent)_hangup$/),
      duration_ms: call.talkDurationMs,
      transcript: expect.stringContaining('Agent: '),
      recording_url: expect.stringContaining(call.callId),
    });
    const turns = ended!.call.transcript_object as { words: { start: number; end: number }[] }[];
    expect(turns.length).toBeGreaterThan(1);
    expect(turns[0]!.words[0]!.end).toBeGreaterThan(turns[0]!.words[0]!.start);
    const cost = ended!.call.call_cost as { combined_cost: number; total_duration_seconds: number };
    expect(cost.total_duration_seconds).toBe(Math.ceil(call.talkDurationMs / 1000));
    expect(cost.combined_cost).toBeGreaterThan(0);
    expect(analyzed!.call.call_analysis).toMatchObject({
      in_voicemail: false,
      call_summary: expect.any(String),
    });
    // The same agent on every call of a line.
    const other = createCallScript({ line, outcome: 'busy', seed: 10 });
    expect(bodies(other)[0]!.call.agent_id).toBe(started!.call.agent_id);
  });

  it('reports voicemail as voicemail_reached with in_voicemail', () => {
    const call = createCallScript({ line, outcome: 'voicemail', seed: 11 });
    expect(call.providerStatus).toBe('voicemail_reached');
    const analyzed = bodies(call).at(-1)!;
    expect(analyzed.call).toMatchObject({
      disconnection_reason: 'voicemail_reached',
      call_analysis: { in_voicemail: true },
    });
  });

  it('reports calls that did not connect as not_connected without a start', () => {
    for (const [outcome, reason] of [
      ['busy', 'dial_busy'],
      ['no-answer', 'dial_no_answer'],
    ] as const) {
      const ended = bodies(createCallScript({ line, outcome, seed: 12 }))[0]!;
      expect(ended.call).toMatchObject({
        call_status: 'not_connected',
        duration_ms: 0,
        disconnection_reason: reason,
      });
      expect(ended.call.start_timestamp).toBeUndefined();
    }
  });
});

describe('CallerDesk scripts', () => {
  const line = demoLines.find((candidate) => candidate.provider === 'callerdesk')!;
  const fields = (call: CallScript) =>
    call.webhooks.map((webhook) => {
      if (webhook.payload.type !== 'fields') throw new Error('fields expected');
      return webhook.payload.fields;
    });

  it('writes numbers and times the way CallerDesk does', () => {
    const call = createCallScript({
      line,
      outcome: 'completed',
      seed: 3,
      direction: 'inbound',
      startedAt: Date.UTC(2026, 4, 2, 4, 45, 30),
    });
    const report = fields(call).at(-1)!;
    expect(report).toMatchObject({
      DestinationNumber: '08041234567',
      Direction: 'IVR',
      StartTime: '2026-05-02 10:15:30',
      Status: 'ANSWER',
      type: 'call_report',
      TalkDuration: String(call.talkDurationMs / 1000),
    });
    expect(report.CallSid).toMatch(/^\d{10}\.\d{6}$/);
    expect(report.SourceNumber).toMatch(/^(0|91)?[6-9]\d{9}$/);
    expect(report.CallRecordingUrl).toMatch(
      /^https:\/\/callrecords\.callerdesk\.io\/incoming\/2026\/05\/02\/.+\.mp3$/,
    );
    expect(call.webhooks.map((webhook) => webhook.kind)).toEqual([
      'live:AgentonRing (0-Agent)',
      'live:Picked',
      'report',
    ]);
  });

  it('uses the click-to-call vocabulary on outbound calls', () => {
    const statuses = (outcome: (typeof simulatedOutcomes)[number]) =>
      fields(createCallScript({ line, outcome, seed: 4, direction: 'outbound' })).at(-1)!.Status;
    expect(statuses('no-answer')).toBe('Cancel-Customer');
    expect(statuses('busy')).toBe('Busy (17-customer)');
    expect(statuses('voicemail')).toBe('ANSWER');
    const report = fields(
      createCallScript({ line, outcome: 'completed', seed: 4, direction: 'outbound' }),
    ).at(-1)!;
    expect(report).toMatchObject({ Direction: 'WEBOBD', campid: expect.stringMatching(/^\d{4}$/) });
  });
});
