import { describe, expect, it } from 'vitest';
import type { CallEvent } from './call-event-schema';
import { BusUnavailableError } from './errors/bus-unavailable-error';
import { CallTrackError } from './errors/calltrack-error';
import type { EventSink } from './event-sink';
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

  it('turns any other failure into a 500 publish_failed, so the provider retries', async () => {
    const error = await publishEvents(
      sink(() => new TypeError('boom')),
      [event('a')],
    ).catch((caught: unknown) => caught);
    expect(CallTrackError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'publish_failed', status: 500 });
  });
});
