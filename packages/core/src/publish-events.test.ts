import { describe, expect, it } from 'vitest';
import type { CallEvent } from './call-event-schema';
import { BusUnavailableError } from './errors/bus-unavailable-error';
import { CallTrackError } from './errors/calltrack-error';
import { InvalidEventError } from './errors/invalid-event-error';
import type { EventSink } from './event-sink';
import { parseCallEvent } from './parse-call-event';
import { publishEvents } from './publish-events';

const event = (id: string): CallEvent => ({
  id,
  type: 'call.ringing',
  tenantId: 'acme',
  provider: 'twilio',
  callId: 'CA1',
  occurredAt: '2026-11-21T10:00:00.000Z',
  receivedAt: '2026-11-21T10:00:00.000Z',
  data: {},
});

function sink(behaviour: (event: CallEvent) => boolean | Error): EventSink & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    async publish(published) {
      const outcome = behaviour(published);
      if (outcome instanceof Error) throw outcome;
      seen.push(published.id);
      return { duplicate: outcome };
    },
  };
}

describe('publishEvents', () => {
  it('publishes in order and counts duplicates', async () => {
    const target = sink((published) => published.id === 'b');
    await expect(publishEvents(target, [event('a'), event('b'), event('c')])).resolves.toEqual({
      published: 2,
      duplicates: 1,
    });
    expect(target.seen).toEqual(['a', 'b', 'c']);
  });

  it('keeps a 5xx CallTrackError from the sink and stops there', async () => {
    const unavailable = new BusUnavailableError({ message: 'Redis is down' });
    const target = sink((published) => (published.id === 'b' ? unavailable : false));
    await expect(publishEvents(target, [event('a'), event('b'), event('c')])).rejects.toBe(
      unavailable,
    );
    expect(target.seen).toEqual(['a']);
  });

  it('keeps a 4xx CallTrackError from the sink, so the provider stops retrying an event the bus refuses', async () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let level = 0; level < 20_000; level += 1) cursor = cursor.a = {};
    const refusing: EventSink = {
      publish: async (published) => ({ duplicate: !!parseCallEvent(published) }),
    };
    const error = await publishEvents(refusing, [
      { ...event('a'), data: { metadata: deep } },
    ]).catch((caught: unknown) => caught);
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      status: 400,
      field: 'data.metadata.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a',
    });
  });

  it('turns any other failure into a 500 publish_failed, so the provider retries', async () => {
    const error = await publishEvents(
      sink(() => new TypeError('boom')),
      [event('a')],
    ).catch((caught: unknown) => caught);
    expect(CallTrackError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'publish_failed', status: 500 });
  });
});
