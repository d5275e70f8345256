import { describe, expect, it } from 'vitest';
import type { CallEvent } from './call-event-schema';
import { BusUnavailableError } from './errors/bus-unavailable-error';
import { CallTrackError } from './errors/calltrack-error';
import { InvalidEventError } from './errors/invalid-event-error';
import type { EventSink } from './event-sink';
import { publishEvents } from './publish-events';
import { isSealedCallEvent, sealCallEvent } from './seal-call-event';

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

  it('counts what the sink says it published: an event it applied but ignored is not published', async () => {
    // The tracker answers a second end of a call `{ duplicate: false, published: false }`.
    const tracker: EventSink = {
      publish: async (published) =>
        published.id === 'second-end'
          ? { duplicate: false, published: false }
          : { duplicate: published.id === 'retry', published: published.id !== 'retry' },
    };
    await expect(
      publishEvents(tracker, [event('first-end'), event('second-end'), event('retry')]),
    ).resolves.toEqual({ published: 1, duplicates: 1 });
  });

  it('counts an event seen before but published only now (a retry after a failed publish) as published only', async () => {
    // The tracker answers an event whose first publish failed `{ duplicate: true, published: true }`.
    const tracker: EventSink = {
      publish: async () => ({ duplicate: true, published: true }),
    };
    await expect(publishEvents(tracker, [event('retried')])).resolves.toEqual({
      published: 1,
      duplicates: 0,
    });
  });

  it('keeps a 5xx CallTrackError from the sink and stops there', async () => {
    const unavailable = new BusUnavailableError({ message: 'Redis is down' });
    const target = sink((published) => (published.id === 'b' ? unavailable : false));
    await expect(publishEvents(target, [event('a'), event('b'), event('c')])).rejects.toBe(
      unavailable,
    );
    expect(target.seen).toEqual(['a']);
  });

  it('hands the sink sealed events: validated once here, or already sealed by the parser', async () => {
    const target = sink(() => false);
    const received: CallEvent[] = [];
    const already = sealCallEvent(event('b'));
    await publishEvents(
      {
        publish: async (published) => {
          received.push(published);
          return target.publish(published);
        },
      },
      [event('a'), already],
    );
    expect(received.every(isSealedCallEvent)).toBe(true);
    expect(received[1]).toBe(already);
  });

  it('refuses an invalid event with a 400 before publishing any event of the webhook', async () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let level = 0; level < 20_000; level += 1) cursor = cursor.a = {};
    const target = sink(() => false);
    const error = await publishEvents(target, [
      event('a'),
      { ...event('b'), data: { metadata: deep } },
    ]).catch((caught: unknown) => caught);
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      status: 400,
      field: 'data.metadata.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a',
    });
    expect(target.seen).toEqual([]);
  });

  it('keeps a 4xx CallTrackError from the sink, so the provider stops retrying an event the sink refuses', async () => {
    const refused = new InvalidEventError({ issues: [{ field: 'callId', message: 'unknown' }] });
    const error = await publishEvents(
      sink(() => refused),
      [event('a')],
    ).catch((caught: unknown) => caught);
    expect(error).toBe(refused);
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
