import { createMemoryBus } from '@calltrack/bus';
import { CallTrackError, InvalidPayloadError, parseCallEvent } from '@calltrack/core';
import { createFixtureLoader } from '@calltrack/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCallerDeskWebhook } from './parse-callerdesk-webhook';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

const tenant = { tenantId: 'acme-in' };
const receivedAt = '2024-05-02T04:47:00.000Z';

function parse(name: string, extra: { includeRaw?: boolean } = {}) {
  return parseCallerDeskWebhook({ payload: loadFixture(name).json, tenant, receivedAt, ...extra });
}

/** The fixture's fields as strings, the way a query string or form body carries them. */
function asQuery(name: string): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(loadFixture(name).json)) query.set(key, String(value));
  return query;
}

function expectInvalid(run: () => unknown, text: string) {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(InvalidPayloadError.isInstance(thrown)).toBe(true);
  expect((thrown as Error).message).toContain(text);
}

const fixtures = [
  'callerdesk-call-report-incoming-answered.json',
  'callerdesk-call-report-incoming-no-answer.json',
  'callerdesk-call-report-incoming-cancel.json',
  'callerdesk-call-report-incoming-busy.json',
  'callerdesk-call-report-outgoing-answered.json',
  'callerdesk-call-report-outgoing-cancel-customer.json',
  'callerdesk-live-call-incoming-ringing.json',
  'callerdesk-live-call-incoming-answered.json',
  'callerdesk-live-call-outgoing.json',
];

describe('parseCallerDeskWebhook', () => {
  it('maps an answered incoming call report to call.ended and call.recording', () => {
    const events = parse('callerdesk-call-report-incoming-answered.json');
    expect(events).toEqual([
      {
        id: 'callerdesk:1714625130.960123:ended',
        type: 'call.ended',
        tenantId: 'acme-in',
        provider: 'callerdesk',
        callId: '1714625130.960123',
        direction: 'inbound',
        from: '+919876543210',
        to: '+918047112233',
        status: 'completed',
        occurredAt: '2024-05-02T04:46:35.000Z',
        receivedAt,
        data: {
          providerStatus: 'ANSWER',
          agentNumber: '+919812345678',
          callGroup: 'Sales',
          accountId: '10234',
          hangupCause: 'ANSWER(16-customer)',
          startedAt: '2024-05-02T04:45:30.000Z',
          durationMs: 48000,
          totalDurationMs: 65000,
          recordingUrl:
            'https://callrecords.callerdesk.io/incoming/2024/05/02/1714625130.960123.mp3',
          coins: 2,
          answeredAt: '2024-05-02T04:45:47.000Z',
          endedAt: '2024-05-02T04:46:35.000Z',
        },
      },
      {
        id: 'callerdesk:1714625130.960123:recording',
        type: 'call.recording',
        tenantId: 'acme-in',
        provider: 'callerdesk',
        callId: '1714625130.960123',
        direction: 'inbound',
        from: '+919876543210',
        to: '+918047112233',
        occurredAt: '2024-05-02T04:46:35.000Z',
        receivedAt,
        data: {
          providerStatus: 'ANSWER',
          agentNumber: '+919812345678',
          callGroup: 'Sales',
          accountId: '10234',
          hangupCause: 'ANSWER(16-customer)',
          startedAt: '2024-05-02T04:45:30.000Z',
          recordingUrl:
            'https://callrecords.callerdesk.io/incoming/2024/05/02/1714625130.960123.mp3',
          recordingDurationMs: 48000,
        },
      },
    ]);
  });

  it.each([
    ['callerdesk-call-report-incoming-no-answer.json', 'no-answer', 'NO ANSWER (0-Agent)'],
    ['callerdesk-call-report-incoming-cancel.json', 'canceled', 'CANCEL (0)'],
    ['callerdesk-call-report-incoming-busy.json', 'busy', 'BUSY (17)'],
    ['callerdesk-call-report-outgoing-cancel-customer.json', 'no-answer', 'Cancel-Customer'],
  ])('maps the unanswered report %s to %s without a recording', (name, status, providerStatus) => {
    const events = parse(name);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'call.ended',
      status,
      data: { providerStatus, durationMs: 0 },
    });
    expect(events[0]?.data).not.toHaveProperty('recordingUrl');
    expect(events[0]?.data).not.toHaveProperty('answeredAt');
  });

  it('maps an outgoing click-to-call report: from the virtual number to the customer', () => {
    const [ended, recording] = parse('callerdesk-call-report-outgoing-answered.json');
    expect(ended).toMatchObject({
      direction: 'outbound',
      from: '+918047112233',
      to: '+919876500011',
      status: 'completed',
      occurredAt: '2024-05-02T09:32:05.000Z',
      data: {
        campaignId: '9995',
        agentNumber: '+919812345678',
        durationMs: 96000,
        totalDurationMs: 120000,
        coins: 4,
        answeredAt: '2024-05-02T09:30:29.000Z',
      },
    });
    expect(recording?.type).toBe('call.recording');
  });

  it('maps a ringing live call to call.initiated and call.ringing', () => {
    const events = parse('callerdesk-live-call-incoming-ringing.json');
    expect(events.map((event) => [event.id, event.type, event.status, event.occurredAt])).toEqual([
      [
        'callerdesk:1714625130.960123:initiated',
        'call.initiated',
        'queued',
        '2024-05-02T04:45:30.000Z',
      ],
      ['callerdesk:1714625130.960123:ringing:919812345678', 'call.ringing', 'ringing', receivedAt],
    ]);
    expect(events[1]).toMatchObject({
      direction: 'inbound',
      from: '+919876543210',
      to: '+918047112233',
      data: { providerStatus: 'AgentonRing (0-Agent)', agentNumber: '+919812345678' },
    });
  });

  it('maps an answered live call to call.initiated and call.answered', () => {
    const events = parse('callerdesk-live-call-incoming-answered.json');
    expect(events.map((event) => [event.id, event.type, event.status])).toEqual([
      ['callerdesk:1714625130.960123:initiated', 'call.initiated', 'queued'],
      ['callerdesk:1714625130.960123:answered:919812345678', 'call.answered', 'in-progress'],
    ]);
    // Every live payload of a call repeats the same call.initiated id: the bus keeps one.
    expect(events[0]?.id).toBe(parse('callerdesk-live-call-incoming-ringing.json')[0]?.id);
  });

  it('maps an outgoing live call', () => {
    const [initiated, answered] = parse('callerdesk-live-call-outgoing.json');
    expect(initiated).toMatchObject({
      direction: 'outbound',
      from: '+918047112233',
      to: '+919876500011',
    });
    expect(answered).toMatchObject({ type: 'call.answered', data: { campaignId: '9995' } });
  });

  it('maps other live statuses to call.status_changed', () => {
    const { json } = loadFixture('callerdesk-live-call-incoming-ringing.json');
    const [, busy] = parseCallerDeskWebhook({
      payload: { ...json, Status: 'BUSY (17)' },
      tenant,
      receivedAt,
    });
    expect(busy).toMatchObject({
      id: 'callerdesk:1714625130.960123:live:busy:919812345678',
      type: 'call.status_changed',
      status: 'busy',
    });
    const [, unknown] = parseCallerDeskWebhook({
      payload: { ...json, Status: 'On Hold', DialWhomNumber: '' },
      tenant,
      receivedAt,
    });
    expect(unknown).toMatchObject({
      id: 'callerdesk:1714625130.960123:live:onhold',
      type: 'call.status_changed',
      data: { providerStatus: 'On Hold' },
    });
    expect(unknown).not.toHaveProperty('status');
  });

  it('keeps the ids of two calls apart when a call id holds the separator', async () => {
    const live = loadFixture('callerdesk-live-call-incoming-ringing.json').json;
    const report = loadFixture('callerdesk-call-report-incoming-answered.json').json;
    // Call `A`'s live status `ended`, and the report of call `A:live`.
    const [, liveEnded] = parseCallerDeskWebhook({
      payload: { ...live, CallSid: 'A', Status: 'ended', DialWhomNumber: '' },
      tenant,
      receivedAt,
    });
    const [reportEnded] = parseCallerDeskWebhook({
      payload: { ...report, CallSid: 'A:live' },
      tenant,
      receivedAt,
    });
    expect(liveEnded?.id).toBe('callerdesk:A:live:ended');
    expect(reportEnded).toMatchObject({ id: 'callerdesk:A%3Alive:ended', callId: 'A:live' });
    const percent = parseCallerDeskWebhook({ payload: { ...report, CallSid: 'A%3Alive' }, tenant });
    expect(percent[0]?.id).toBe('callerdesk:A%253Alive:ended');
    const bus = createMemoryBus();
    expect((await bus.publish(liveEnded!)).duplicate).toBe(false);
    expect((await bus.publish(reportEnded!)).duplicate).toBe(false);
    expect((await bus.publish(percent[0]!)).duplicate).toBe(false);
    await bus.close();
  });

  it('keeps a call id whose escaped form has up to 128 characters and a status of up to 64 letters in ids; longer ones become %H and a hash', () => {
    const live = loadFixture('callerdesk-live-call-incoming-ringing.json').json;
    const idsOf = (CallSid: string, Status: string) =>
      parseCallerDeskWebhook({ payload: { ...live, CallSid, Status }, tenant }).map(
        (event) => event.id,
      );
    // 125 characters and a `:`, escaped as `%3A`: 128.
    const callId = `${'c'.repeat(125)}:`;
    const status = 'x'.repeat(64);
    const [initiated, kept] = idsOf(callId, status);
    expect(initiated).toBe(`callerdesk:${'c'.repeat(125)}%3A:initiated`);
    expect(kept?.startsWith(`callerdesk:${'c'.repeat(125)}%3A:live:${status}`)).toBe(true);
    const [longInitiated, longStatus] = idsOf(`c${callId}`, `${status}x`);
    expect(longInitiated).toMatch(/^callerdesk:%H[^:]+:initiated$/);
    expect(longStatus).toMatch(/^callerdesk:%H[^:]+:live:%H[^:]+(:\d+)?$/);
  });

  it("keeps every id within core's 256 characters, however long the call id and status", () => {
    const live = loadFixture('callerdesk-live-call-incoming-ringing.json').json;
    const ids = new Set<string>();
    for (const [callId, status] of [
      [':'.repeat(128), 'x'.repeat(300)],
      [`${':'.repeat(127)}%`, 'x'.repeat(300)],
      [':'.repeat(128), 'y'.repeat(300)],
      ['1714625130.960123', 'y'.repeat(300)],
    ] as const) {
      const [, event] = parseCallerDeskWebhook({
        payload: { ...live, CallSid: callId, Status: status },
        tenant,
      });
      expect(parseCallEvent(event).id.length).toBeLessThanOrEqual(256);
      expect(event).toMatchObject({ callId, data: { providerStatus: status } });
      ids.add(event!.id);
    }
    expect(ids.size).toBe(4);
  });

  it('reads the same fields from a query string, a form body, URLSearchParams or JSON text', () => {
    for (const name of fixtures) {
      const expected = parse(name);
      const query = asQuery(name);
      expect(parseCallerDeskWebhook({ payload: query, tenant, receivedAt })).toEqual(expected);
      expect(parseCallerDeskWebhook({ payload: `?${query}`, tenant, receivedAt })).toEqual(
        expected,
      );
      expect(
        parseCallerDeskWebhook({ payload: loadFixture(name).text, tenant, receivedAt }),
      ).toEqual(expected);
    }
  });

  it('returns events that pass core validation, with deterministic ids', () => {
    for (const name of fixtures) {
      const first = parse(name);
      expect(first.length).toBeGreaterThan(0);
      for (const event of first) expect(parseCallEvent(event)).toEqual(event);
      const retry = parseCallerDeskWebhook({
        payload: asQuery(name),
        tenant,
        receivedAt: '2024-05-02T05:00:00.000Z',
      });
      expect(retry.map((event) => event.id)).toEqual(first.map((event) => event.id));
    }
  });

  it('detects the kind, or takes it from the caller', () => {
    const { json } = loadFixture('callerdesk-live-call-incoming-answered.json');
    expect(parseCallerDeskWebhook({ payload: json, tenant, kind: 'report' })[0]).toMatchObject({
      type: 'call.ended',
      status: 'completed',
    });
    const report = loadFixture('callerdesk-call-report-incoming-answered.json').json;
    const {
      type: _type,
      EndTime: _end,
      CallDuration: _d,
      TalkDuration: _t,
      CallRecordingUrl: _r,
      ...live
    } = report;
    expect(parseCallerDeskWebhook({ payload: live, tenant })[1]?.type).toBe('call.answered');
    expect(
      parseCallerDeskWebhook({ payload: { ...live, type: 'call_report' }, tenant })[0]?.type,
    ).toBe('call.ended');
  });

  it("keeps a live payload live when it carries the report's fields empty: the zero date, no time", () => {
    // CallerDesk writes PHP's zero date for a time not reached yet (the cancel report's
    // LegB_Picked_time); a live webhook filled from the same template ends nothing.
    const ringing = loadFixture('callerdesk-live-call-incoming-ringing.json').json;
    for (const empty of [
      { EndTime: '0000-00-00 00:00:00' },
      { EndTime: '0000-00-00' },
      { CallDuration: '0', TalkDuration: '0' },
      { CallDuration: '00:00:00', TalkDuration: '0:00' },
      {
        EndTime: '0000-00-00 00:00:00',
        CallDuration: '0',
        TalkDuration: '0',
        CallRecordingUrl: '',
      },
    ]) {
      const events = parseCallerDeskWebhook({
        payload: { ...ringing, ...empty },
        tenant,
        receivedAt,
      });
      expect(events.map((event) => event.type)).toEqual(['call.initiated', 'call.ringing']);
    }
  });

  it('still detects every report without its type: a real EndTime, talk time or a recording', () => {
    for (const name of [
      'callerdesk-call-report-incoming-answered.json',
      'callerdesk-call-report-incoming-busy.json',
      'callerdesk-call-report-incoming-cancel.json',
      'callerdesk-call-report-incoming-no-answer.json',
      'callerdesk-call-report-outgoing-answered.json',
      'callerdesk-call-report-outgoing-cancel-customer.json',
    ]) {
      const { type: _type, ...report } = loadFixture(name).json;
      expect(parseCallerDeskWebhook({ payload: report, tenant, receivedAt })[0]?.type).toBe(
        'call.ended',
      );
    }
    const live = loadFixture('callerdesk-live-call-incoming-answered.json').json;
    for (const reportOnly of [
      { EndTime: '2024-05-02 10:16:35' },
      { CallDuration: '65' },
      { TalkDuration: '00:00:48' },
      { CallRecordingUrl: 'https://callrecords.callerdesk.io/incoming/2024/05/02/1.mp3' },
    ]) {
      expect(
        parseCallerDeskWebhook({ payload: { ...live, ...reportOnly }, tenant, receivedAt })[0]
          ?.type,
      ).toBe('call.ended');
    }
  });

  it('matches field names case-insensitively, preferring the documented spelling', () => {
    const events = parseCallerDeskWebhook({
      payload: { callsid: '1.2', STATUS: 'answer', source_number: '9876543210', calltype: 'x' },
      tenant,
      receivedAt,
      kind: 'report',
    });
    expect(events[0]).toMatchObject({ callId: '1.2', from: '+919876543210', status: 'completed' });
    const [exact] = parseCallerDeskWebhook({
      payload: { callsid: 'lookalike', CallSid: 'exact', Status: 'ANSWER' },
      tenant,
      kind: 'report',
    });
    expect(exact?.callId).toBe('exact');
  });

  it('reads a numeric CallSid in JSON text as written, trailing zeros kept', () => {
    const callIdOf = (text: string) => parseCallerDeskWebhook({ payload: text, tenant })[0]?.callId;
    const report = '"Status":"ANSWER","EndTime":"2024-05-02 10:00:00"';
    expect(callIdOf(`{"CallSid": 1672649960.960, ${report}}`)).toBe('1672649960.960');
    expect(callIdOf(`{${report}, "call_sid" :1672649960.9600}`)).toBe('1672649960.9600');
    expect(callIdOf(`{"Uniqueid":99.10,${report}}`)).toBe('99.10');
    expect(callIdOf(`{"CallSid":1E3,${report}}`)).toBe('1E3');
    // Look-alikes in a string and a nested object are not the field; a repeated field is the last.
    const decoys =
      '"note":"{\\"CallSid\\": 1.5, \\"x\\": [1]}","nested":{"CallSid":1672649960.96},' +
      '"list":[{"CallSid":2.50}],"CallSid":7.0,';
    expect(callIdOf(`{${decoys}"CallSid":1672649960.960,${report}}`)).toBe('1672649960.960');
    expect(callIdOf(`{"Call\\u0053id":5.50,${report}}`)).toBe('5.50');
    // A string CallSid is as it was.
    expect(callIdOf(`{"CallSid":"1672649960.960",${report}}`)).toBe('1672649960.960');
  });

  it('falls back on Uniqueid and callstatus', () => {
    const [event] = parseCallerDeskWebhook({
      payload: { Uniqueid: '99.1', callstatus: 'Missed', EndTime: '2024-05-02 10:00:00' },
      tenant,
    });
    expect(event).toMatchObject({ callId: '99.1', status: 'no-answer' });
  });

  it('reads durations given as a clock and derives the end time from the start', () => {
    const [event] = parseCallerDeskWebhook({
      payload: {
        CallSid: '5.5',
        Status: 'ANSWER',
        StartTime: '2024-05-02 10:00:00',
        CallDuration: '00:01:05',
        TalkDuration: '0:48',
      },
      tenant,
      receivedAt,
    });
    expect(event).toMatchObject({
      occurredAt: '2024-05-02T04:31:05.000Z',
      data: { durationMs: 48000, totalDurationMs: 65000, endedAt: '2024-05-02T04:31:05.000Z' },
    });
  });

  it('copies the tenant onto every event', () => {
    for (const event of parseCallerDeskWebhook({
      payload: loadFixture('callerdesk-live-call-incoming-ringing.json').json,
      tenant: { tenantId: 'acme-in', branchId: 'noida', agentId: 'priya', userId: 'u9' },
    })) {
      expect(event).toMatchObject({ branchId: 'noida', agentId: 'priya', userId: 'u9' });
    }
  });

  it('attaches raw only when asked to', () => {
    for (const event of parse('callerdesk-call-report-incoming-answered.json')) {
      expect(event).not.toHaveProperty('raw');
    }
    const { json } = loadFixture('callerdesk-call-report-incoming-answered.json');
    for (const event of parse('callerdesk-call-report-incoming-answered.json', {
      includeRaw: true,
    })) {
      expect(event.raw).toEqual(json);
    }
  });

  it('passes unknown extra fields', () => {
    const { json } = loadFixture('callerdesk-call-report-incoming-answered.json');
    expect(
      parseCallerDeskWebhook({ payload: { ...json, brand_new: { nested: true } }, tenant }),
    ).toHaveLength(2);
  });

  it('names the missing or invalid field', () => {
    const { json } = loadFixture('callerdesk-call-report-incoming-answered.json');
    const without = (name: string) =>
      Object.fromEntries(Object.entries(json).filter(([key]) => key !== name));
    expectInvalid(
      () => parseCallerDeskWebhook({ payload: without('CallSid'), tenant }),
      '"CallSid" is required',
    );
    expectInvalid(
      () => parseCallerDeskWebhook({ payload: without('Status'), tenant }),
      '"Status" is required',
    );
    expectInvalid(
      () => parseCallerDeskWebhook({ payload: { ...json, StartTime: '02/05/2024 10:15' }, tenant }),
      '"StartTime" is not a "yyyy-mm-dd hh:mm:ss" time',
    );
    expectInvalid(
      () =>
        parseCallerDeskWebhook({ payload: { ...json, EndTime: '2024-02-30 10:00:00' }, tenant }),
      '"EndTime"',
    );
    expectInvalid(
      () => parseCallerDeskWebhook({ payload: { ...json, Status: { code: 16 } }, tenant }),
      '"Status" is invalid',
    );
    expectInvalid(
      () => parseCallerDeskWebhook({ payload: { ...json, CallSid: 'x'.repeat(129) }, tenant }),
      '"CallSid" is longer',
    );
    expectInvalid(
      () => parseCallerDeskWebhook({ payload: '{"CallSid":', tenant }),
      'not valid JSON',
    );
    expectInvalid(() => parseCallerDeskWebhook({ payload: [json], tenant }), 'must be an object');
    expectInvalid(() => parseCallerDeskWebhook({ payload: '', tenant }), '"CallSid" is required');
  });

  it('rejects a bad tenant or receivedAt as an argument error', () => {
    const payload = loadFixture('callerdesk-call-report-incoming-answered.json').json;
    for (const bad of [
      undefined,
      { tenantId: '' },
      { tenantId: 'a{b}' },
      { tenantId: 'a', userId: 5 },
    ]) {
      expect(() => parseCallerDeskWebhook({ payload, tenant: bad as never })).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
    }
    expect(() => parseCallerDeskWebhook({ payload, tenant, receivedAt: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => parseCallerDeskWebhook(null as never)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  it('rejects a kind other than live or report, instead of reading the webhook as a report', () => {
    const payload = loadFixture('callerdesk-live-call-incoming-ringing.json').json;
    expect(parseCallerDeskWebhook({ payload, tenant, receivedAt, kind: 'live' })[1]).toMatchObject({
      type: 'call.ringing',
    });
    for (const kind of ['Live', 'reports', '']) {
      expect(() =>
        parseCallerDeskWebhook({ payload, tenant, receivedAt, kind: kind as never }),
      ).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });

  describe('on arbitrary input', () => {
    const expectOnlyCallTrackErrors = (payload: unknown) => {
      try {
        const events = parseCallerDeskWebhook({ payload, tenant, receivedAt });
        for (const event of events) parseCallEvent(event);
      } catch (error) {
        expect(CallTrackError.isInstance(error)).toBe(true);
      }
    };

    it('throws nothing but a CallTrackError for any value', () => {
      fc.assert(fc.property(fc.anything(), expectOnlyCallTrackErrors), { numRuns: 500 });
    });

    it('throws nothing but a CallTrackError for any text', () => {
      fc.assert(fc.property(fc.oneof(fc.json(), fc.string()), expectOnlyCallTrackErrors));
    });

    it('throws nothing but a CallTrackError for payloads with arbitrary field values', () => {
      const names = [
        'SourceNumber',
        'DestinationNumber',
        'DialWhomNumber',
        'CallDuration',
        'TalkDuration',
        'coins',
        'Status',
        'StartTime',
        'EndTime',
        'CallRecordingUrl',
        'Direction',
        'campid',
        'LegB_Picked_time',
        'type',
        '__proto__',
        'constructor',
      ];
      const value = fc.oneof(
        fc.anything(),
        fc.string(),
        fc.double(),
        fc.integer(),
        fc.constantFrom(
          '',
          ' ',
          'null',
          'IVR',
          'WEBOBD',
          'ANSWER',
          '2024-05-02 10:00:00',
          '9999-12-31 23:59:59',
          '00:99:99',
          '1e308',
        ),
      );
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...names), value), (fields) =>
          expectOnlyCallTrackErrors({ CallSid: '1.1', Status: 'ANSWER', ...fields }),
        ),
        { numRuns: 1000 },
      );
    });
  });
});
