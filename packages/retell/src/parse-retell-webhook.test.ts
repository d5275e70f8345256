import { CallTrackError, InvalidPayloadError, parseCallEvent } from '@calltrack/core';
import { createFixtureLoader } from '@calltrack/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetellWebhook } from './parse-retell-webhook';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

const tenant = { tenantId: 'acme' };
const receivedAt = '2024-05-02T00:10:00.000Z';

function parse(name: string, extra: { includeRaw?: boolean } = {}) {
  return parseRetellWebhook({ payload: loadFixture(name).json, tenant, receivedAt, ...extra });
}

function expectInvalid(run: () => unknown, field: string) {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(InvalidPayloadError.isInstance(thrown)).toBe(true);
  expect((thrown as Error).message).toContain(`"${field}"`);
}

describe('parseRetellWebhook', () => {
  it('maps call_started to call.initiated and call.answered', () => {
    const events = parse('retell-call-started.json');
    expect(events).toEqual([
      {
        id: 'retell:Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6:initiated',
        type: 'call.initiated',
        tenantId: 'acme',
        agentId: 'oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD',
        provider: 'retell',
        callId: 'Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6',
        direction: 'inbound',
        from: '+12137774445',
        to: '+14157774444',
        status: 'queued',
        occurredAt: '2024-05-02T00:07:55.945Z',
        receivedAt,
        data: { providerStatus: 'ongoing', callType: 'phone_call', metadata: {} },
      },
      {
        id: 'retell:Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6:answered',
        type: 'call.answered',
        tenantId: 'acme',
        agentId: 'oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD',
        provider: 'retell',
        callId: 'Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6',
        direction: 'inbound',
        from: '+12137774445',
        to: '+14157774444',
        status: 'in-progress',
        occurredAt: '2024-05-02T00:07:55.945Z',
        receivedAt,
        data: {
          providerStatus: 'ongoing',
          callType: 'phone_call',
          metadata: {},
          startedAt: '2024-05-02T00:07:55.945Z',
        },
      },
    ]);
  });

  it('maps a web call without direction or numbers', () => {
    const [initiated, answered] = parse('retell-web-call-started.json');
    expect(initiated).not.toHaveProperty('direction');
    expect(initiated).not.toHaveProperty('from');
    expect(initiated).not.toHaveProperty('to');
    expect(answered).toMatchObject({
      type: 'call.answered',
      status: 'in-progress',
      data: { callType: 'web_call', metadata: { userId: 'u_42' } },
    });
  });

  it('maps call_ended to call.ended and call.recording', () => {
    const events = parse('retell-call-ended.json');
    expect(events).toHaveLength(2);
    const [ended, recording] = events;
    expect(ended).toMatchObject({
      id: 'retell:Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk:ended',
      type: 'call.ended',
      status: 'completed',
      direction: 'outbound',
      from: '+14157774444',
      to: '+12137774445',
      occurredAt: '2024-05-02T00:08:11.736Z',
      data: {
        providerStatus: 'ended',
        durationMs: 15791,
        disconnectionReason: 'user_hangup',
        recordingUrl:
          'https://dxc03zgurdly9.cloudfront.net/Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk/recording.wav',
        publicLogUrl:
          'https://dxc03zgurdly9.cloudfront.net/Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk/public.log',
        cost: { amount: 0.0329, currency: 'USD' },
        metadata: { leadId: 'lead_1029', campaign: 'recall-may' },
        startedAt: '2024-05-02T00:07:55.945Z',
        endedAt: '2024-05-02T00:08:11.736Z',
      },
    });
    expect(ended?.data.transcript).toContain('Agent: Hi José, this is Ava');
    expect(recording).toMatchObject({
      id: 'retell:Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk:recording',
      type: 'call.recording',
      occurredAt: '2024-05-02T00:08:11.736Z',
      data: {
        recordingUrl:
          'https://dxc03zgurdly9.cloudfront.net/Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk/recording.wav',
        recordingMultiChannelUrl:
          'https://dxc03zgurdly9.cloudfront.net/Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk/recording_multichannel.wav',
        recordingDurationMs: 15791,
      },
    });
    expect(recording).not.toHaveProperty('status');
  });

  it.each([
    ['retell-call-ended-dial-no-answer.json', 'no-answer', 'dial_no_answer'],
    ['retell-call-ended-dial-busy.json', 'busy', 'dial_busy'],
    ['retell-call-ended-dial-failed.json', 'failed', 'dial_failed'],
  ])('maps %s to status %s', (name, status, reason) => {
    const events = parse(name);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'call.ended',
      status,
      occurredAt: '2024-05-02T00:33:51.000Z',
      data: { disconnectionReason: reason, durationMs: 0, providerStatus: 'not_connected' },
    });
  });

  it('reads the deprecated `data` property like `call`', () => {
    const legacy = parse('retell-call-ended-legacy-data.json');
    expect(legacy).toEqual(parse('retell-call-ended.json'));
  });

  it('maps call_analyzed to call.analyzed with the analysis and the final status', () => {
    const [analyzed, ...rest] = parse('retell-call-analyzed.json');
    expect(rest).toEqual([]);
    expect(analyzed).toMatchObject({
      id: 'retell:Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk:analyzed',
      type: 'call.analyzed',
      status: 'completed',
      occurredAt: receivedAt,
      data: {
        durationMs: 15791,
        cost: { amount: 0.0329, currency: 'USD' },
        analysis: {
          summary: "The agent confirmed José's dental cleaning appointment for Friday at 10 am.",
          successful: true,
          inVoicemail: false,
          userSentiment: 'Positive',
          custom: { appointment_confirmed: true, callback_requested: false },
        },
      },
    });
  });

  it('keeps analysis fields it does not know under their own name', () => {
    const { json } = loadFixture('retell-call-analyzed.json');
    const call = json.call as Record<string, unknown>;
    const payload = {
      ...json,
      call: {
        ...call,
        call_analysis: { call_summary: 'Hi', agent_task_completion_rating: 'High' },
      },
    };
    const [event] = parseRetellWebhook({ payload, tenant, receivedAt });
    expect(event?.data.analysis).toEqual({ summary: 'Hi', agent_task_completion_rating: 'High' });
  });

  it('maps transcript_updated to call.transcript with an id per transcript state', () => {
    const events = parse('retell-transcript-updated.json');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'call.transcript',
      occurredAt: receivedAt,
      data: { transcriptTurns: 2 },
    });
    expect(events[0]?.id).toMatch(
      /^retell:Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6:transcript:2:[0-9a-f]{16}$/,
    );
    expect(events[0]).not.toHaveProperty('status');
    expect(events[0]?.data.transcript).toBe(
      "Agent: Hi José, this is Ava from Sunrise Dental. Is now a good time?\nUser: Yes, sure — what's up?\n",
    );

    const { json } = loadFixture('retell-transcript-updated.json');
    const call = json.call as Record<string, unknown>;
    const next = { ...json, call: { ...call, transcript: `${call.transcript}Agent: Great.\n` } };
    const [later] = parseRetellWebhook({ payload: next, tenant, receivedAt });
    expect(later?.id).not.toBe(events[0]?.id);
  });

  it('builds the transcript from transcript_object when the text is missing', () => {
    const { json } = loadFixture('retell-transcript-updated.json');
    const { transcript: _omitted, ...call } = json.call as Record<string, unknown>;
    const [event] = parseRetellWebhook({ payload: { ...json, call }, tenant, receivedAt });
    expect(event?.data.transcript).toBe(
      "agent: Hi José, this is Ava from Sunrise Dental. Is now a good time?\nuser: Yes, sure — what's up?",
    );
  });

  it.each([
    ['retell-transfer-started.json', 'call.transfer_started'],
    ['retell-transfer-bridged.json', 'call.transfer_bridged'],
    ['retell-transfer-cancelled.json', 'call.transfer_cancelled'],
  ])('maps %s to %s', (name, type) => {
    const events = parse(name);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type,
      occurredAt: receivedAt,
      data: {
        transferDestination: '+14155550199',
        transferOption: { type: 'warm_transfer' },
      },
    });
    expect(events[0]?.id).toMatch(
      new RegExp(`^retell:Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6:${type.slice(5)}:[0-9a-f]{16}$`),
    );
  });

  it('maps transfer_ended with its own time', () => {
    const [event] = parse('retell-transfer-ended.json');
    expect(event).toMatchObject({
      type: 'call.transfer_ended',
      occurredAt: '2024-05-02T00:10:20.500Z',
      data: { transferEndedAt: '2024-05-02T00:10:20.500Z' },
    });
  });

  it('maps events it does not know to nothing', () => {
    expect(parse('retell-chat-started.json')).toEqual([]);
    expect(
      parseRetellWebhook({
        payload: { event: 'call_inbound', call_inbound: { agent_id: 'a' } },
        tenant,
      }),
    ).toEqual([]);
  });

  it('returns events that pass core validation, with deterministic ids', () => {
    const names = [
      'retell-call-started.json',
      'retell-web-call-started.json',
      'retell-call-ended.json',
      'retell-call-ended-dial-no-answer.json',
      'retell-call-ended-dial-busy.json',
      'retell-call-ended-dial-failed.json',
      'retell-call-ended-legacy-data.json',
      'retell-call-analyzed.json',
      'retell-transcript-updated.json',
      'retell-transfer-started.json',
      'retell-transfer-bridged.json',
      'retell-transfer-cancelled.json',
      'retell-transfer-ended.json',
    ];
    for (const name of names) {
      const first = parse(name);
      expect(first.length).toBeGreaterThan(0);
      for (const event of first) expect(parseCallEvent(event)).toEqual(event);
      // A retry, received later, gives the same ids.
      const retry = parseRetellWebhook({
        payload: loadFixture(name).text,
        tenant,
        receivedAt: '2024-05-02T00:11:00.000Z',
      });
      expect(retry.map((event) => event.id)).toEqual(first.map((event) => event.id));
    }
  });

  it('copies the tenant onto every event, preferring its agentId', () => {
    const events = parseRetellWebhook({
      payload: loadFixture('retell-call-started.json').json,
      tenant: { tenantId: 'acme', branchId: 'blr', agentId: 'user_7', userId: 'u_7' },
      receivedAt,
    });
    for (const event of events) {
      expect(event).toMatchObject({
        tenantId: 'acme',
        branchId: 'blr',
        agentId: 'user_7',
        userId: 'u_7',
      });
    }
  });

  it('attaches raw only when asked to', () => {
    for (const event of parse('retell-call-ended.json')) expect(event).not.toHaveProperty('raw');
    const { json } = loadFixture('retell-call-ended.json');
    for (const event of parse('retell-call-ended.json', { includeRaw: true })) {
      expect(event.raw).toEqual(json);
    }
  });

  it('accepts the JSON text as well as the parsed object', () => {
    expect(
      parseRetellWebhook({
        payload: loadFixture('retell-call-ended.json').text,
        tenant,
        receivedAt,
      }),
    ).toEqual(parse('retell-call-ended.json'));
  });

  it('passes unknown extra fields', () => {
    const { json } = loadFixture('retell-call-started.json');
    const call = json.call as Record<string, unknown>;
    const payload = { ...json, new_top_level: 1, call: { ...call, brand_new_field: { a: 1 } } };
    expect(parseRetellWebhook({ payload, tenant, receivedAt })).toHaveLength(2);
  });

  it('derives the end time and duration from the timestamps when needed', () => {
    const { json } = loadFixture('retell-call-ended.json');
    const { end_timestamp: _end, ...withoutEnd } = json.call as Record<string, unknown>;
    const [ended] = parseRetellWebhook({
      payload: { ...json, call: withoutEnd },
      tenant,
      receivedAt,
    });
    expect(ended?.occurredAt).toBe('2024-05-02T00:08:11.736Z');
    const { duration_ms: _duration, ...withoutDuration } = json.call as Record<string, unknown>;
    const [again] = parseRetellWebhook({
      payload: { ...json, call: withoutDuration },
      tenant,
      receivedAt,
    });
    expect(again?.data.durationMs).toBe(15791);
  });

  it('names the missing or invalid field', () => {
    expectInvalid(() => parseRetellWebhook({ payload: { call: {} }, tenant }), 'event');
    expectInvalid(() => parseRetellWebhook({ payload: { event: 'call_ended' }, tenant }), 'call');
    expectInvalid(
      () =>
        parseRetellWebhook({ payload: { event: 'call_ended', call: { agent_id: 'a' } }, tenant }),
      'call.call_id',
    );
    expectInvalid(
      () => parseRetellWebhook({ payload: { event: 'call_ended', data: { call_id: 7 } }, tenant }),
      'data.call_id',
    );
    expectInvalid(
      () =>
        parseRetellWebhook({
          payload: { event: 'call_ended', call: { call_id: 'c', start_timestamp: 'soon' } },
          tenant,
        }),
      'call.start_timestamp',
    );
    expectInvalid(
      () =>
        parseRetellWebhook({
          payload: { event: 'call_ended', call: { call_id: 'c', end_timestamp: 1e20 } },
          tenant,
        }),
      'call.end_timestamp',
    );
    expect(() => parseRetellWebhook({ payload: '{not json', tenant })).toThrow(/not valid JSON/);
    expect(() => parseRetellWebhook({ payload: [], tenant })).toThrow(InvalidPayloadError);
  });

  it('rejects a bad tenant or receivedAt as an argument error', () => {
    const payload = loadFixture('retell-call-started.json').json;
    for (const bad of [undefined, {}, { tenantId: 'has space' }, { tenantId: 'a', branchId: '' }]) {
      expect(() => parseRetellWebhook({ payload, tenant: bad as never })).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
    }
    expect(() => parseRetellWebhook({ payload, tenant, receivedAt: 'never' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => parseRetellWebhook(undefined as never)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  describe('on arbitrary input', () => {
    const expectOnlyCallTrackErrors = (payload: unknown) => {
      try {
        const events = parseRetellWebhook({ payload, tenant, receivedAt });
        for (const event of events) parseCallEvent(event);
      } catch (error) {
        expect(CallTrackError.isInstance(error)).toBe(true);
      }
    };

    it('throws nothing but a CallTrackError for any value', () => {
      fc.assert(fc.property(fc.anything(), expectOnlyCallTrackErrors), { numRuns: 500 });
    });

    it('throws nothing but a CallTrackError for any JSON text', () => {
      fc.assert(fc.property(fc.oneof(fc.json(), fc.string()), expectOnlyCallTrackErrors));
    });

    it('throws nothing but a CallTrackError for call objects with arbitrary field values', () => {
      const names = [
        'call_id',
        'call_type',
        'agent_id',
        'call_status',
        'direction',
        'from_number',
        'to_number',
        'start_timestamp',
        'end_timestamp',
        'duration_ms',
        'transcript',
        'transcript_object',
        'recording_url',
        'disconnection_reason',
        'transfer_destination',
        'transfer_end_timestamp',
        'metadata',
        'call_analysis',
        'call_cost',
      ];
      const value = fc.oneof(
        fc.anything(),
        fc.string(),
        fc.double(),
        fc.integer({ min: -1e15, max: 1e16 }),
        fc.constantFrom(null, '', ' ', 'inbound', 'outbound', 'dial_busy', 'error_asr'),
      );
      const call = fc.dictionary(fc.constantFrom(...names), value);
      const event = fc.constantFrom(
        'call_started',
        'call_ended',
        'call_analyzed',
        'transcript_updated',
        'transfer_started',
        'transfer_ended',
        'chat_started',
      );
      fc.assert(
        fc.property(event, call, (name, body) =>
          expectOnlyCallTrackErrors({ event: name, call: { call_id: 'c1', ...body } }),
        ),
        { numRuns: 1000 },
      );
    });
  });
});
