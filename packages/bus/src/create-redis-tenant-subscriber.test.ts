import type { CallEvent } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createFakeTenantHistory, type FakeTenantHistory } from './__tests__/fake-tenant-history';
import { BusDeliveryError } from './bus-delivery-error';
import {
  createRedisTenantSubscriber,
  type RedisTenantSubscriber,
  type RedisTenantSubscriberOptions,
} from './create-redis-tenant-subscriber';
import type { BusMessage } from './event-bus';

/** A sink that records what it is given. */
function recordingSink() {
  const sink = {
    open: true,
    ready: false,
    cutOffs: 0,
    messages: [] as BusMessage[],
    push(message: BusMessage) {
      if (!sink.open) return false;
      sink.messages.push(message);
      return true;
    },
    cutOff() {
      sink.cutOffs += 1;
      sink.open = false;
    },
    markReady() {
      sink.ready = true;
    },
  };
  return sink;
}

/** Lets every promise chain that is ready run to completion. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 30; turn += 1) await Promise.resolve();
}

function setup(
  overrides: Partial<RedisTenantSubscriberOptions> & { history?: FakeTenantHistory } = {},
) {
  const history = overrides.history ?? createFakeTenantHistory({});
  const sink = recordingSink();
  const errors: Error[] = [];
  const retries: (() => void)[] = [];
  const subscriber: RedisTenantSubscriber = createRedisTenantSubscriber({
    tenantId: 'tenant-a',
    sink,
    matches: () => true,
    readHistory: history.read,
    batchSize: 500,
    report: (error) => errors.push(error),
    scheduleRetry: (retry) => retries.push(retry),
    ...overrides,
  });
  /** What was delivered: event ids, or `reset:<reason>`. */
  const delivered = () =>
    sink.messages.map((message) =>
      message.type === 'event'
        ? message.event.id
        : `${message.type}:${'reason' in message ? message.reason : ''}`,
    );
  return { history, sink, errors, retries, subscriber, delivered };
}

describe('createRedisTenantSubscriber', () => {
  it('starts at the top and delivers live messages in sequence', async () => {
    const { history, subscriber, sink, delivered } = setup();
    history.publish();
    subscriber.start({ from: 'now' });
    await settle();
    expect(sink.ready).toBe(true);
    const first = history.publish();
    const second = history.publish();
    subscriber.receive(first);
    subscriber.receive(second);
    subscriber.receive(first); // a repeat is dropped by its sequence number
    expect(delivered()).toEqual([first.event?.id, second.event?.id]);
  });

  it('holds live messages while reading history and drops the overlap at the seam', async () => {
    const history = createFakeTenantHistory({});
    const events = Array.from({ length: 5 }, () => history.publish());
    const { subscriber, delivered } = setup({ history });
    history.hold();
    subscriber.start({ from: 'cursor', cursor: events[1]!.cursor });
    // Published after the read was sent but arriving before its answer: in history *and* live.
    const late = history.publish();
    subscriber.receive(events[4]!);
    subscriber.receive(late);
    await history.release();
    expect(delivered()).toEqual([...events.slice(2), late].map((message) => message.event?.id));
  });

  it('fills a gap in the live sequence from history, in order', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const messages = Array.from({ length: 4 }, () => history.publish());
    subscriber.receive(messages[0]!);
    subscriber.receive(messages[3]!); // 2 and 3 were lost on the way
    await settle();
    expect(delivered()).toEqual(messages.map((message) => message.event?.id));
    expect(history.reads).toBe(2);
  });

  it('after Redis came back empty: one stream-reset, then every event of the new stream', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const before = history.publish();
    subscriber.receive(before);
    history.lose('e2');
    const after = Array.from({ length: 5 }, () => history.publish());
    // Only the third live message of the new stream arrives before anything else.
    subscriber.receive(after[2]!);
    await settle();
    subscriber.receive(after[3]!);
    subscriber.receive(after[4]!);
    expect(delivered()).toEqual([
      before.event?.id,
      'reset:stream-reset',
      ...after.map((message) => message.event?.id),
    ]);
  });

  it('resets once and goes on from the top when the new stream has already lost its start', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    subscriber.receive(history.publish());
    history.lose('e2');
    const after = Array.from({ length: 6 }, () => history.publish());
    history.forgetAllBut(3);
    subscriber.catchUp();
    await settle();
    const live = history.publish();
    subscriber.receive(live);
    expect(delivered().slice(1)).toEqual(['reset:stream-reset', live.event?.id]);
    expect(after).toHaveLength(6);
  });

  it('resets when the stream is gone, then follows the next one from its first event', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const first = history.publish();
    subscriber.receive(first);
    history.lose('e2');
    subscriber.catchUp(); // reconnected: nothing published since Redis restarted
    await settle();
    const fresh = [history.publish(), history.publish()];
    subscriber.receive(fresh[1]!); // the first one was missed live: history has it
    await settle();
    expect(delivered()).toEqual([
      first.event?.id,
      'reset:stream-reset',
      ...fresh.map((message) => message.event?.id),
    ]);
  });

  it('resets when the stream went back in the same epoch (a failover lost the last writes)', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    for (const message of [history.publish(), history.publish(), history.publish()]) {
      subscriber.receive(message);
    }
    history.rewind(2);
    subscriber.catchUp();
    await settle();
    const next = history.publish();
    subscriber.receive(next);
    expect(delivered().slice(3)).toEqual(['reset:stream-reset', next.event?.id]);
  });

  it('notices a rewritten stream from another event at its own position', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    for (const message of [history.publish(), history.publish(), history.publish()]) {
      subscriber.receive(message);
    }
    // The last two writes were lost, and two other events took their sequence numbers.
    history.rewind(2);
    history.publish();
    const rewritten = history.publish();
    subscriber.receive(rewritten);
    await settle();
    const next = history.publish();
    subscriber.receive(next);
    expect(delivered().slice(3)).toEqual(['reset:stream-reset', next.event?.id]);
  });

  it('resets a cursor whose position the stream gave to another event (a restore from an older snapshot), then goes on from the top', async () => {
    const history = createFakeTenantHistory({});
    const seen = Array.from({ length: 5 }, () => history.publish());
    // Restored to seq 2, then three other events took seqs 3 to 5, the client's last included.
    history.rewind(3);
    for (let index = 0; index < 3; index += 1) history.publish();
    const { subscriber, delivered } = setup({ history });
    subscriber.start({ from: 'cursor', cursor: seen[4]!.cursor });
    await settle();
    const live = history.publish();
    subscriber.receive(live);
    expect(delivered()).toEqual(['reset:stream-reset', live.event?.id]);
  });

  it('resumes a cursor of the earlier form (no verifier) without checking its entry, as before', async () => {
    const history = createFakeTenantHistory({});
    const events = Array.from({ length: 4 }, () => history.publish());
    const { subscriber, delivered } = setup({ history });
    subscriber.start({ from: 'cursor', cursor: `e1:${events[1]!.seq}` });
    await settle();
    expect(delivered()).toEqual(events.slice(2).map((message) => message.event?.id));
  });

  it('notices a stream rewritten at the top it started from, when it catches up', async () => {
    const { history, subscriber, delivered } = setup();
    history.publish();
    history.publish();
    subscriber.start({ from: 'now' });
    await settle();
    // Two writes lost, then two other events at the same seqs, all while its connection was down.
    history.rewind(2);
    history.publish();
    history.publish();
    subscriber.catchUp();
    await settle();
    const live = history.publish();
    subscriber.receive(live);
    expect(delivered()).toEqual(['reset:stream-reset', live.event?.id]);
  });

  it('signals history-gap for a cursor whose events have left history, then goes on live', async () => {
    const history = createFakeTenantHistory({});
    const old = history.publish();
    for (let index = 0; index < 9; index += 1) history.publish();
    history.forgetAllBut(5);
    const { subscriber, delivered } = setup({ history });
    subscriber.start({ from: 'cursor', cursor: old.cursor });
    await settle();
    const live = history.publish();
    subscriber.receive(live);
    expect(delivered()).toEqual(['reset:history-gap', live.event?.id]);
  });

  it('signals stream-reset for something that is not a cursor, then goes on live', async () => {
    const { history, subscriber, delivered } = setup();
    history.publish();
    subscriber.start({ from: 'cursor', cursor: 'not a cursor' });
    await settle();
    const live = history.publish();
    subscriber.receive(live);
    expect(delivered()).toEqual(['reset:stream-reset', live.event?.id]);
  });

  it('follows a tenant from the start of its stream (all-tenants), naming it on resets', async () => {
    const history = createFakeTenantHistory({});
    const early = [history.publish(), history.publish()];
    const { subscriber, sink } = setup({ history, labelResets: true });
    subscriber.start({ from: 'stream-start' });
    await settle();
    expect(sink.messages.map((message) => message.type === 'event' && message.event.id)).toEqual(
      early.map((message) => message.event?.id),
    );
    history.lose('e2');
    subscriber.receive(history.publish());
    await settle();
    expect(sink.messages[2]).toEqual({
      type: 'reset',
      recovered: false,
      reason: 'stream-reset',
      tenantId: 'tenant-a',
    });
  });

  it('starts from a first live message (all-tenants, classic): that event and every later one, each once', async () => {
    const history = createFakeTenantHistory({});
    history.publish(); // before the subscriber heard of the tenant: not delivered
    const { subscriber, delivered, errors } = setup({ history, labelResets: true });
    const first = history.publish();
    const second = history.publish();
    subscriber.receive({ ...first, event: undefined, error: new Error('a later format') });
    subscriber.start({ from: 'live', epoch: first.epoch, seq: first.seq });
    await settle();
    subscriber.receive(second);
    const third = history.publish();
    subscriber.receive(third);
    expect(delivered()).toEqual([first, second, third].map((message) => message.event?.id));
    expect(errors).toEqual([]);
  });

  it('is not left past the real stream by a stray first live message: no reset, no replay, the next event delivered', async () => {
    const history = createFakeTenantHistory({});
    const early = [history.publish(), history.publish()];
    const { subscriber, delivered, errors } = setup({ history, labelResets: true });
    // A stray message far beyond the top (delivered, like any first message that reads well),
    // and, on another subscriber, one of an epoch history does not know.
    const stray = { ...early[1], seq: 999, cursor: 'e1:999', event: makeCallEvent() };
    subscriber.receive(stray as (typeof early)[1]);
    subscriber.start({ from: 'live', epoch: 'e1', seq: 999 });
    const foreign = { ...early[1], epoch: 'other', seq: 1, cursor: 'other:1', event: undefined };
    const other = setup({ history, labelResets: true });
    other.subscriber.receive(foreign as (typeof early)[1]);
    other.subscriber.start({ from: 'live', epoch: 'other', seq: 1 });
    await settle();
    const next = history.publish();
    subscriber.receive(next);
    other.subscriber.receive(next);
    await settle();
    expect(delivered()).toEqual([stray.event.id, next.event?.id]);
    expect(other.delivered()).toEqual([next.event?.id]);
    expect(errors).toEqual([]);
  });

  it('delivers real events that arrive while a stray first message is checked, from history, once', async () => {
    const history = createFakeTenantHistory({});
    for (let seq = 1; seq <= 10; seq += 1) history.publish();
    const { subscriber, delivered, errors } = setup({ history, labelResets: true });
    const forged = { ...history.publish(), seq: 1000, cursor: 'e1:1000', event: makeCallEvent() };
    history.rewind(1);
    history.hold();
    subscriber.receive(forged);
    subscriber.start({ from: 'live', epoch: 'e1', seq: 1000 });
    // Real events, published and heard while the read that checks the stray one is in flight.
    const real = [history.publish(), history.publish()];
    for (const message of real) subscriber.receive(message);
    await history.release();
    const next = history.publish();
    subscriber.receive(next);
    await settle();
    expect(delivered()).toEqual([forged.event.id, ...[...real, next].map((m) => m.event?.id)]);
    expect(errors).toEqual([]);
  });

  it('delivers real events heard while a first message of an unknown epoch is checked', async () => {
    const history = createFakeTenantHistory({});
    history.publish();
    const { subscriber, delivered } = setup({ history, labelResets: true });
    const foreign = { ...history.publish(), epoch: 'other', seq: 1, cursor: 'other:1' };
    history.rewind(1);
    history.hold();
    subscriber.receive(foreign);
    subscriber.start({ from: 'live', epoch: 'other', seq: 1 });
    const real = [history.publish(), history.publish()];
    for (const message of real) subscriber.receive(message);
    await history.release();
    await settle();
    expect(delivered()).toEqual([foreign.event?.id, ...real.map((m) => m.event?.id)]);
  });

  it('delivers real events heard while a stray first message below the window of history is checked', async () => {
    const history = createFakeTenantHistory({});
    for (let seq = 1; seq <= 10; seq += 1) history.publish();
    history.forgetAllBut(3);
    const { subscriber, delivered, errors } = setup({ history, labelResets: true });
    // A stray message at a position history no longer holds: the read after it is a gap.
    const stray = {
      ...history.publish(),
      seq: 2,
      cursor: 'e1:2',
      verifier: 'x',
      event: makeCallEvent(),
    };
    history.rewind(1);
    history.hold();
    subscriber.receive(stray);
    subscriber.start({ from: 'live', epoch: 'e1', seq: 2 });
    const real = [history.publish(), history.publish()];
    for (const message of real) subscriber.receive(message);
    await history.release();
    const next = history.publish();
    subscriber.receive(next);
    await settle();
    expect(delivered()).toEqual([stray.event.id, ...[...real, next].map((m) => m.event?.id)]);
    expect(errors).toEqual([]);
  });

  it('does not loop when a message heard while a stray first one is checked has left history too', async () => {
    const history = createFakeTenantHistory({});
    for (let seq = 1; seq <= 10; seq += 1) history.publish();
    history.forgetAllBut(3);
    const { subscriber, delivered, errors } = setup({ history, labelResets: true });
    const stray = {
      ...history.publish(),
      seq: 2,
      cursor: 'e1:2',
      verifier: 'x',
      event: makeCallEvent(),
    };
    const late = { ...stray, seq: 5, cursor: 'e1:5', verifier: 'y', event: makeCallEvent() };
    history.rewind(1);
    history.hold();
    subscriber.receive(stray);
    subscriber.start({ from: 'live', epoch: 'e1', seq: 2 });
    // Below the window as well: moving back to it gives a gap again.
    subscriber.receive(late);
    await history.release();
    await settle();
    expect(history.reads).toBeLessThanOrEqual(3);
    const next = history.publish();
    subscriber.receive(next);
    await settle();
    expect(delivered()).toEqual([stray.event.id, next.event?.id]);
    expect(errors).toEqual([]);
  });

  it('reads a message it cannot read live from history, and skips one history cannot read either', async () => {
    const { history, subscriber, delivered, errors } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const good = history.publish();
    const broken = history.publish();
    const after = history.publish();
    history.corrupt(broken.seq);
    subscriber.receive(good);
    subscriber.receive({ ...broken, event: undefined, error: new Error('not JSON') });
    await settle();
    subscriber.receive(after);
    expect(delivered()).toEqual([good.event?.id, after.event?.id]);
    expect(errors).toHaveLength(1);
    expect(BusDeliveryError.isInstance(errors[0])).toBe(true);
    expect(errors[0]).toMatchObject({ reason: 'unreadable', cursor: broken.cursor });
  });

  it('drops a stray live message beyond the top of history after one read, without looping', async () => {
    const { history, subscriber, delivered, errors } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const real = history.publish();
    subscriber.receive({ ...real, seq: 999, cursor: 'e1:999', event: makeCallEvent() });
    await settle();
    subscriber.receive(real);
    await settle();
    const next = history.publish();
    subscriber.receive(next);
    expect(delivered()).toEqual([real.event?.id, next.event?.id]);
    expect(history.reads).toBeLessThanOrEqual(3);
    expect(errors.map((error) => (error as BusDeliveryError).reason)).toEqual(['unreadable']);
  });

  it('skips an event its filter throws on, and goes on', async () => {
    const poison = makeCallEvent({ callId: 'CA-poison' });
    const { history, subscriber, delivered, errors } = setup({
      matches: (event: CallEvent) => {
        if (event.callId === 'CA-poison') throw new Error('filter bug');
        return true;
      },
    });
    subscriber.start({ from: 'now' });
    await settle();
    const messages = [history.publish(), history.publish(poison), history.publish()];
    for (const message of messages) subscriber.receive(message);
    expect(delivered()).toEqual([messages[0]!.event?.id, messages[2]!.event?.id]);
    expect(errors).toEqual([
      expect.objectContaining({ reason: 'filter', cursor: messages[1]!.cursor }),
    ]);
  });

  it('ends its subscription with lagged when delivering throws', async () => {
    const { history, subscriber, sink, errors } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    sink.push = () => {
      throw new Error('consumer bug');
    };
    subscriber.receive(history.publish());
    expect(sink.cutOffs).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ reason: 'subscriber' })]);
  });

  it('reports a failed read and tries again, then delivers what it missed', async () => {
    const { history, subscriber, delivered, errors, retries } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const messages = [history.publish(), history.publish()];
    history.hold();
    subscriber.receive(messages[1]!); // a gap: read history
    await history.fail(new Error('connection lost'));
    expect(errors.map((error) => error.message)).toEqual(['connection lost']);
    expect(retries).toHaveLength(1);
    retries[0]?.();
    await settle();
    expect(delivered()).toEqual(messages.map((message) => message.event?.id));
  });

  it('starts no read while a failed one waits to be tried again, however much live traffic comes', async () => {
    const history = createFakeTenantHistory({});
    let down = false;
    let reads = 0;
    const { subscriber, delivered, retries } = setup({
      history,
      readHistory: (after, afterVerifier) => {
        reads += 1;
        return down
          ? Promise.reject(new Error('connection lost'))
          : history.read(after, afterVerifier);
      },
    });
    subscriber.start({ from: 'now' });
    await settle();
    const published = [history.publish(), history.publish()];
    down = true;
    subscriber.receive(published[1]!); // a gap: read history, which fails
    await settle();
    expect(reads).toBe(2);
    expect(retries).toHaveLength(1);
    // Live traffic while reads fail: every message is a jump past the gap.
    for (let index = 0; index < 2_000; index += 1) {
      const message = history.publish();
      published.push(message);
      subscriber.receive(message);
      await settle();
    }
    expect(reads).toBe(2);
    expect(retries).toHaveLength(1);
    // Reads work again: the retry reads everything, in order, once (history is the truth).
    down = false;
    retries[0]?.();
    for (let turn = 0; turn < 100 && delivered().length < published.length; turn += 1) {
      await settle();
    }
    expect(delivered()).toEqual(published.map((message) => message.event?.id));
  });

  it('catches up after live delivery was interrupted', async () => {
    const { history, subscriber, delivered } = setup();
    subscriber.start({ from: 'now' });
    await settle();
    const missed = [history.publish(), history.publish()];
    subscriber.catchUp();
    await settle();
    expect(delivered()).toEqual(missed.map((message) => message.event?.id));
  });
});
