import assert from 'node:assert/strict';
import {
  type CallEvent,
  type ConformanceTestApi,
  InvalidArgumentError,
  InvalidEventError,
} from '@calltrack/core';
import { BusDeliveryError } from './bus-delivery-error';
import { eventIds, take } from './collect-bus-messages';
import type {
  BusEventMessage,
  BusMessage,
  BusOptions,
  BusSubscribeOptions,
  BusSubscription,
  EventBus,
} from './event-bus';
import { makeConformanceEvent } from './make-conformance-event';

/** Options of {@link describeEventBus}. */
export interface EventBusSuiteOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * Makes a fresh bus for one test, with the options the test gives (limits, `onError`): empty,
   * sharing no history with any other bus it made. The suite closes every bus it made after each
   * test (`close()` is the bus's cleanup).
   */
  createBus: (options?: BusOptions) => Promise<EventBus>;
  /**
   * Makes every later hand-over of an event to this one subscription throw, for the test that a
   * failing subscriber ends alone, with `lagged`, while every other subscription goes on. By
   * default the suite replaces the subscription's `push(message)` method, through which the
   * built-in buses hand it its messages; give your own when your bus feeds its subscriptions
   * otherwise.
   */
  breakSubscription?: (subscription: BusSubscription) => void;
}

/** The built-in buses hand a subscription its messages through its `push(message)` method. */
function breakPush(subscription: BusSubscription): void {
  const queue = subscription as BusSubscription & { push?: (message: BusMessage) => boolean };
  if (typeof queue.push !== 'function') {
    assert.fail(
      "this bus's subscriptions have no push(message) method: pass options.breakSubscription, " +
        'a function that makes handing events to one subscription throw',
    );
  }
  queue.push = () => {
    throw new Error('consumer bug');
  };
}

/** Whether a thrown value is an Error whose message matches `pattern` (vitest's `toThrowError`). */
const messageMatches =
  (pattern: RegExp) =>
  (error: unknown): boolean =>
    error instanceof Error && pattern.test(error.message);

/**
 * The contract every bus backend must honour (the bus contract of calltrack's design: publish,
 * subscribe with filters, bounded history, resume after a cursor, slow subscribers, one bad
 * event never taking a stream down). The memory bus and the Redis bus (single Redis, sharded
 * pub/sub, Redis Cluster) run these very tests; run them on a bus of your own:
 *
 * @example
 * import { afterEach, describe, it } from 'vitest';
 * import { describeEventBus } from '@calltrack/bus/testing';
 * describeEventBus({ describe, it, afterEach }, {
 *   name: 'my bus',
 *   createBus: async (options) => createMyBus(options),
 * });
 */
export function describeEventBus(test: ConformanceTestApi, options: EventBusSuiteOptions): void {
  const { describe, it, afterEach } = test;
  const breakSubscription = options.breakSubscription ?? breakPush;

  describe(`EventBus conformance: ${options.name}`, () => {
    const buses: EventBus[] = [];
    const bus = async (busOptions?: BusOptions): Promise<EventBus> => {
      const made = await options.createBus(busOptions);
      buses.push(made);
      return made;
    };
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((made) => made.close()));
    });
    /** The event of a message that must be an event message. */
    const eventOf = (message: BusMessage | undefined): CallEvent => {
      assert.equal(message?.type, 'event');
      return (message as BusEventMessage).event;
    };

    describe('publish', () => {
      it('returns a cursor, and the same cursor with duplicate: true for a repeated id', async () => {
        const b = await bus();
        const event = makeConformanceEvent();
        const first = await b.publish(event);
        assert.equal(first.duplicate, false);
        assert.equal(typeof first.cursor, 'string');
        const again = await b.publish({ ...event, receivedAt: '2026-11-21T10:00:05.000Z' });
        assert.deepEqual(again, { cursor: first.cursor, duplicate: true });
      });

      it('delivers a duplicate to nobody', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const event = makeConformanceEvent();
        await b.publish(event);
        await b.publish(event);
        const marker = makeConformanceEvent();
        await b.publish(marker);
        assert.deepEqual(eventIds(await take(subscription, 2)), [event.id, marker.id]);
      });

      it('rejects an invalid event with InvalidEventError naming the field, and publishes nothing', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const bad = { ...makeConformanceEvent(), status: 'answered' } as never;
        const error = await b.publish(bad).catch((caught: unknown) => caught);
        assert.equal(InvalidEventError.isInstance(error), true);
        assert.equal((error as InvalidEventError).field, 'status');
        const good = makeConformanceEvent();
        await b.publish(good);
        assert.deepEqual(eventIds(await take(subscription, 1)), [good.id]);
      });

      it('gives cursors that increase per tenant in publish order, even when publishes overlap', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const events = Array.from({ length: 200 }, () => makeConformanceEvent());
        const results = await Promise.all(events.map((event) => b.publish(event)));
        assert.equal(new Set(results.map((result) => result.cursor)).size, 200);
        const received = await take(subscription, 200);
        assert.deepEqual(
          eventIds(received),
          events.map((event) => event.id),
        );
        assert.deepEqual(
          received.map((message) => (message.type === 'event' ? message.cursor : '')),
          results.map((result) => result.cursor),
        );
      });
    });

    describe('one bad event never takes a stream down', () => {
      /** An object nested `depth` levels deep, built without recursion. */
      const nested = (depth: number): Record<string, unknown> => {
        let value: Record<string, unknown> = {};
        for (let level = 0; level < depth; level += 1) value = { level: value };
        return value;
      };

      it('refuses a 20,000-level-deep event with InvalidEventError (400), publishes nothing and keeps working', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        for (const bad of [
          makeConformanceEvent({ data: { analysis: nested(20_000) } }),
          makeConformanceEvent({ raw: nested(20_000) }),
        ]) {
          const error = await b.publish(bad).catch((caught: unknown) => caught);
          assert.equal(InvalidEventError.isInstance(error), true);
          assert.equal((error as InvalidEventError).status, 400);
          assert.match((error as InvalidEventError).field, /^(data\.analysis|raw)/);
          assert.match((error as Error).message, /deeper than 32 levels/);
        }
        const good = makeConformanceEvent();
        await b.publish(good);
        assert.deepEqual(eventIds(await take(subscription, 1)), [good.id]);
      });

      it('refuses events JSON cannot write (a BigInt, a throwing toJSON) with a 400, publishing nothing', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        for (const bad of [
          makeConformanceEvent({ data: { big: 10n } as never }),
          makeConformanceEvent({
            raw: {
              toJSON: () => {
                throw new Error('no');
              },
            },
          }),
        ]) {
          const error = await b.publish(bad).catch((caught: unknown) => caught);
          assert.equal(InvalidEventError.isInstance(error), true);
          assert.equal((error as InvalidEventError).status, 400);
        }
        const good = makeConformanceEvent();
        await b.publish(good);
        assert.deepEqual(eventIds(await take(subscription, 1)), [good.id]);
      });

      it('keeps delivering to every other subscription when handing an event to one of them fails', async () => {
        const errors: Error[] = [];
        const b = await bus({ onError: (error) => errors.push(error) });
        const broken = b.subscribe({ tenantId: 'tenant-a' });
        const healthy = b.subscribe({ tenantId: 'tenant-a' });
        const everyone = b.subscribe({ allTenants: true });
        await Promise.all([broken.ready, healthy.ready, everyone.ready]);
        // Fault injection: handing an event to this one subscription throws from now on.
        breakSubscription(broken);
        const events = [makeConformanceEvent(), makeConformanceEvent(), makeConformanceEvent()];
        for (const event of events) await b.publish(event);
        assert.deepEqual(
          eventIds(await take(healthy, 3)),
          events.map((event) => event.id),
        );
        assert.deepEqual(
          eventIds(await take(everyone, 3)),
          events.map((event) => event.id),
        );
        // The broken one is cut off with a resumable lag, and said so once.
        assert.equal((await broken.next()).value?.type, 'lagged');
        assert.equal((await broken.next()).done, true);
        const reports = errors.filter((error) => BusDeliveryError.isInstance(error));
        assert.equal(reports.length, 1);
        assert.equal(reports[0]?.reason, 'subscriber');
        assert.equal(reports[0]?.tenantId, 'tenant-a');
      });

      it('goes on the same when onError itself throws (a broken logger)', async () => {
        let reported = 0;
        const b = await bus({
          onError: () => {
            reported += 1;
            throw new Error('logger bug');
          },
        });
        const broken = b.subscribe({ tenantId: 'tenant-a' });
        const healthy = b.subscribe({ tenantId: 'tenant-a' });
        const everyone = b.subscribe({ allTenants: true });
        await Promise.all([broken.ready, healthy.ready, everyone.ready]);
        breakSubscription(broken);
        const events = [makeConformanceEvent(), makeConformanceEvent(), makeConformanceEvent()];
        // Each publish resolves: the event was published, whatever reporting a failure did.
        for (const event of events) assert.equal((await b.publish(event)).duplicate, false);
        assert.deepEqual(
          eventIds(await take(healthy, 3)),
          events.map((event) => event.id),
        );
        assert.deepEqual(
          eventIds(await take(everyone, 3)),
          events.map((event) => event.id),
        );
        assert.equal((await broken.next()).value?.type, 'lagged');
        assert.equal(reported, 1);
      });
    });

    describe('subscribe', () => {
      it('refuses a subscription without a tenant unless allTenants is explicit', async () => {
        const b = await bus();
        assert.throws(() => b.subscribe({}), messageMatches(/tenantId/));
        assert.throws(
          () => b.subscribe({ allTenants: false }),
          (error) => InvalidArgumentError.isInstance(error),
        );
        assert.throws(
          () => b.subscribe({ tenantId: 'a', allTenants: true }),
          messageMatches(/either/),
        );
        assert.throws(
          () => b.subscribe({ allTenants: true, after: 'x:1' }),
          messageMatches(/after/),
        );
        assert.throws(() => b.subscribe({ tenantId: 'bad tenant' }), messageMatches(/tenantId/));
      });

      it('refuses options of the wrong type (after, types, callId) at once, and keeps working', async () => {
        const b = await bus();
        // From JavaScript, or JSON a client sent: refused before anything is attached or read.
        const wrong = [
          { tenantId: 'a', after: 123 },
          { tenantId: 'a', after: { cursor: 'x:1' } },
          { tenantId: 'a', types: 'call.ended' },
          { tenantId: 'a', types: ['call.ended', 7] },
          { allTenants: true, types: { length: 1 } },
          { tenantId: 'a', callId: 42 },
          { allTenants: true, callId: ['CA1'] },
        ] as unknown as BusSubscribeOptions[];
        for (const subscribeOptions of wrong) {
          assert.throws(
            () => b.subscribe(subscribeOptions),
            (error) => InvalidArgumentError.isInstance(error),
            JSON.stringify(subscribeOptions),
          );
        }
        const subscription = b.subscribe({ tenantId: 'a', types: ['call.*'], callId: 'CA1' });
        await subscription.ready;
        const event = makeConformanceEvent({ tenantId: 'a', callId: 'CA1' });
        await b.publish(event);
        assert.equal(eventOf((await subscription.next()).value).id, event.id);
        await subscription.close();
      });

      it("never delivers one tenant's events to another, and allTenants sees both", async () => {
        const b = await bus();
        const a = b.subscribe({ tenantId: 'tenant-a' });
        const other = b.subscribe({ tenantId: 'tenant-b' });
        const all = b.subscribe({ allTenants: true });
        await Promise.all([a.ready, other.ready, all.ready]);
        const forA = makeConformanceEvent({ tenantId: 'tenant-a' });
        const forB = makeConformanceEvent({ tenantId: 'tenant-b' });
        await b.publish(forA);
        await b.publish(forB);
        const lastA = makeConformanceEvent({ tenantId: 'tenant-a' });
        await b.publish(lastA);
        assert.deepEqual(eventIds(await take(a, 2)), [forA.id, lastA.id]);
        assert.deepEqual(eventIds(await take(other, 1)), [forB.id]);
        // Order holds per tenant; across tenants (on different Cluster nodes) it need not.
        const seen = eventIds(await take(all, 3));
        assert.deepEqual(
          seen.filter((id) => id !== forB.id),
          [forA.id, lastA.id],
        );
        assert.ok(seen.includes(forB.id));
      });

      it('filters by call id and by type, including a prefix', async () => {
        const b = await bus();
        const byCall = b.subscribe({ tenantId: 'tenant-a', callId: 'CA-filter' });
        const byType = b.subscribe({ tenantId: 'tenant-a', types: ['call.ended'] });
        const byPrefix = b.subscribe({ tenantId: 'tenant-a', types: ['alert.*'] });
        await Promise.all([byCall.ready, byType.ready, byPrefix.ready]);
        const ringing = makeConformanceEvent({ callId: 'CA-filter' });
        const otherCall = makeConformanceEvent({
          callId: 'CA-other',
          type: 'call.ended',
          status: 'completed',
        });
        const ended = makeConformanceEvent({
          callId: 'CA-filter',
          type: 'call.ended',
          status: 'completed',
        });
        const alert = makeConformanceEvent({
          type: 'alert.long_call',
          callId: undefined,
          status: undefined,
        });
        for (const event of [ringing, otherCall, ended, alert]) await b.publish(event);
        assert.deepEqual(eventIds(await take(byCall, 2)), [ringing.id, ended.id]);
        assert.deepEqual(eventIds(await take(byType, 2)), [otherCall.id, ended.id]);
        assert.deepEqual(eventIds(await take(byPrefix, 1)), [alert.id]);
      });

      it('ends on return(), and a pending next() resolves as done', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const pending = subscription.next();
        await subscription.return?.();
        assert.deepEqual(await pending, { done: true, value: undefined });
        await b.publish(makeConformanceEvent());
        assert.equal((await subscription.next()).done, true);
      });

      it('settles next() calls in flight together in call order, and every one left on close()', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        // The AsyncIterator protocol allows calls before the previous one settled.
        const first = subscription.next();
        const second = subscription.next();
        const third = subscription.next();
        const events = [makeConformanceEvent(), makeConformanceEvent()];
        for (const event of events) await b.publish(event);
        const [a, c] = await Promise.all([first, second]);
        assert.deepEqual(eventOf(a.value), events[0]);
        assert.deepEqual(eventOf(c.value), events[1]);
        const fourth = subscription.next();
        await subscription.close();
        assert.deepEqual(await third, { done: true, value: undefined });
        assert.deepEqual(await fourth, { done: true, value: undefined });
      });

      it('ends when its AbortSignal aborts, including one aborted before subscribing', async () => {
        const b = await bus();
        const controller = new AbortController();
        const subscription = b.subscribe({ tenantId: 'tenant-a', signal: controller.signal });
        await subscription.ready;
        const pending = subscription.next();
        controller.abort();
        assert.equal((await pending).done, true);
        const early = b.subscribe({ tenantId: 'tenant-a', signal: AbortSignal.abort() });
        assert.equal((await early.next()).done, true);
      });

      it('ends 50 subscriptions sharing one AbortSignal, with no MaxListenersExceededWarning', async () => {
        const b = await bus();
        const warnings: Error[] = [];
        const onWarning = (warning: Error): void => {
          warnings.push(warning);
        };
        process.on('warning', onWarning);
        try {
          // One app-wide signal, as a server passes to everything it starts.
          const controller = new AbortController();
          const subscriptions = Array.from({ length: 50 }, () =>
            b.subscribe({ tenantId: 'tenant-a', signal: controller.signal }),
          );
          await Promise.all(subscriptions.map((subscription) => subscription.ready));
          // One of them ended early: the others still end on abort.
          await subscriptions[0]?.close();
          controller.abort();
          for (const subscription of subscriptions) {
            assert.equal((await subscription.next()).done, true);
          }
          // Node emits warnings on a later tick.
          await new Promise((resolve) => setImmediate(resolve));
          assert.deepEqual(
            warnings.map((warning) => warning.name),
            [],
          );
        } finally {
          process.off('warning', onWarning);
        }
      });

      it('ends every subscription on close()', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const pending = subscription.next();
        await b.close();
        assert.equal((await pending).done, true);
      });

      it('works with for await and break', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const events = [makeConformanceEvent(), makeConformanceEvent(), makeConformanceEvent()];
        for (const event of events) await b.publish(event);
        const seen: string[] = [];
        for await (const message of subscription) {
          if (message.type === 'event') seen.push(message.event.id);
          if (seen.length === 2) break;
        }
        assert.deepEqual(seen, [events[0]?.id, events[1]?.id]);
        assert.equal((await subscription.next()).done, true);
      });
    });

    describe('resume', () => {
      it('replays every event after the cursor in order, then live events, with nothing lost or repeated', async () => {
        const b = await bus();
        const events = Array.from({ length: 10 }, () => makeConformanceEvent());
        const cursors: string[] = [];
        for (const event of events) cursors.push((await b.publish(event)).cursor);
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursors[3] });
        await subscription.ready;
        const live = makeConformanceEvent();
        const liveCursor = (await b.publish(live)).cursor;
        const received = await take(subscription, 7);
        assert.deepEqual(eventIds(received), [
          ...events.slice(4).map((event) => event.id),
          live.id,
        ]);
        // An event has one cursor, however it arrives: publish, history or live.
        assert.deepEqual(
          received.map((message) => message.type === 'event' && message.cursor),
          [...cursors.slice(4), liveCursor],
        );
      });

      it('has no gap and no duplicate at the seam while events keep arriving', async () => {
        const b = await bus();
        const events = Array.from({ length: 300 }, () => makeConformanceEvent());
        let resumeCursor = '';
        const publishing = (async () => {
          for (const [index, event] of events.entries()) {
            const { cursor } = await b.publish(event);
            if (index === 49) resumeCursor = cursor;
          }
        })();
        while (resumeCursor === '') await new Promise((resolve) => setImmediate(resolve));
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: resumeCursor });
        await publishing;
        const received = await take(subscription, 250);
        assert.equal(
          received.every((message) => message.type === 'event'),
          true,
        );
        assert.deepEqual(
          eventIds(received),
          events.slice(50).map((event) => event.id),
        );
      });

      it('replays only what matches the filter', async () => {
        const b = await bus();
        const first = await b.publish(makeConformanceEvent());
        const wanted = makeConformanceEvent({ callId: 'CA-resume' });
        await b.publish(makeConformanceEvent());
        await b.publish(wanted);
        const subscription = b.subscribe({
          tenantId: 'tenant-a',
          callId: 'CA-resume',
          after: first.cursor,
        });
        const marker = makeConformanceEvent({ callId: 'CA-resume' });
        await subscription.ready;
        await b.publish(marker);
        assert.deepEqual(eventIds(await take(subscription, 2)), [wanted.id, marker.id]);
      });

      it('gives a position to resume from, for a tenant with no events yet too', async () => {
        const b = await bus();
        // Optional in the EventBus type (buses of your own may leave it out); checked when there.
        if (b.position === undefined) return;
        const position = b.position.bind(b);
        const tenantId = 'tenant-fresh';
        const empty = await position(tenantId);
        const first = [makeConformanceEvent({ tenantId }), makeConformanceEvent({ tenantId })];
        for (const event of first) await b.publish(event);
        const later = await position(tenantId);
        const last = makeConformanceEvent({ tenantId });
        const { cursor } = await b.publish(last);
        // The position is the newest event's cursor.
        assert.equal(await position(tenantId), cursor);
        const fromEmpty = b.subscribe({ tenantId, after: empty });
        await fromEmpty.ready;
        assert.deepEqual(
          eventIds(await take(fromEmpty, 3)),
          [...first, last].map((event) => event.id),
        );
        const fromLater = b.subscribe({ tenantId, after: later });
        await fromLater.ready;
        assert.deepEqual(eventIds(await take(fromLater, 1)), [last.id]);
        await assert.rejects(position('a tenant'), (error) =>
          InvalidArgumentError.isInstance(error),
        );
      });

      it('resumes from the newest cursor with nothing to replay and no reset', async () => {
        const b = await bus();
        const { cursor } = await b.publish(makeConformanceEvent());
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursor });
        await subscription.ready;
        const live = makeConformanceEvent();
        await b.publish(live);
        const received = await take(subscription, 1);
        assert.equal(received.length, 1);
        assert.equal(eventOf(received[0]).id, live.id);
      });

      it('signals recovered: false (history-gap) when the gap has left history, then goes on live', async () => {
        const b = await bus({ history: { maxEvents: 5 } });
        const cursors: string[] = [];
        for (let index = 0; index < 10; index += 1)
          cursors.push((await b.publish(makeConformanceEvent())).cursor);
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursors[1] });
        await subscription.ready;
        const live = makeConformanceEvent();
        await b.publish(live);
        const [reset, next] = await take(subscription, 2);
        assert.deepEqual(reset, { type: 'reset', recovered: false, reason: 'history-gap' });
        assert.equal(eventOf(next).id, live.id);
      });

      it('recovers exactly when the whole gap is still in history', async () => {
        const b = await bus({ history: { maxEvents: 5 } });
        const events = Array.from({ length: 10 }, () => makeConformanceEvent());
        const cursors: string[] = [];
        for (const event of events) cursors.push((await b.publish(event)).cursor);
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursors[4] });
        await subscription.ready;
        assert.deepEqual(
          eventIds(await take(subscription, 5)),
          events.slice(5).map((event) => event.id),
        );
      });

      it('signals stream-reset for a cursor of another tenant (a user who switched workspace)', async () => {
        const b = await bus();
        let cursorOfA = '';
        for (let index = 0; index < 5; index += 1) {
          cursorOfA = (await b.publish(makeConformanceEvent({ tenantId: 'tenant-a' }))).cursor;
        }
        const events = Array.from({ length: 8 }, () =>
          makeConformanceEvent({ tenantId: 'tenant-b' }),
        );
        for (const event of events) await b.publish(event);
        const subscription = b.subscribe({ tenantId: 'tenant-b', after: cursorOfA });
        await subscription.ready;
        const live = makeConformanceEvent({ tenantId: 'tenant-b' });
        await b.publish(live);
        const [reset] = await take(subscription, 1);
        assert.deepEqual(reset, { type: 'reset', recovered: false, reason: 'stream-reset' });
        // Then, as after any stream-reset, the stream from its first event (the Redis bus, which
        // cannot tell a foreign cursor from a restarted Redis) or from now on: tenant-b's either way.
        const ids = new Set([...events, live].map((event) => event.id));
        const after: string[] = [];
        while (after.at(-1) !== live.id) {
          const [message] = await take(subscription, 1);
          after.push(eventOf(message).id);
        }
        assert.equal(
          after.every((id) => ids.has(id)),
          true,
        );
      });

      it('signals stream-reset for a cursor that is not one, or belongs to another stream', async () => {
        const b = await bus();
        await b.publish(makeConformanceEvent());
        for (const after of ['garbage', 'otherepoch:1', '', 'x:99999999']) {
          const subscription = b.subscribe({ tenantId: 'tenant-a', after });
          await subscription.ready;
          assert.deepEqual(await take(subscription, 1), [
            { type: 'reset', recovered: false, reason: 'stream-reset' },
          ]);
          await subscription.close();
        }
      });

      it('forgets events that are older than the age limit', async () => {
        const b = await bus({ history: { maxAgeMs: 150 } });
        const old = makeConformanceEvent();
        const { cursor } = await b.publish(old);
        await b.publish(makeConformanceEvent());
        await new Promise((resolve) => setTimeout(resolve, 300)); // let the age limit pass
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursor });
        await subscription.ready;
        assert.deepEqual(await take(subscription, 1), [
          { type: 'reset', recovered: false, reason: 'history-gap' },
        ]);
        assert.equal((await b.publish(old)).duplicate, false);
      });

      it('keeps at most history.maxBytes of event JSON, oldest out first, always the newest event', async () => {
        const b = await bus({ history: { maxBytes: 35_000 } });
        // About 10,250 bytes of JSON each: three fit in the budget, four do not.
        const padded = (fill: string) =>
          makeConformanceEvent({ data: { note: fill.repeat(10_000) } });
        const events = Array.from({ length: 6 }, () => padded('x'));
        const cursors: string[] = [];
        for (const event of events) cursors.push((await b.publish(event)).cursor);
        const recovered = b.subscribe({ tenantId: 'tenant-a', after: cursors[2] });
        await recovered.ready;
        assert.deepEqual(
          eventIds(await take(recovered, 3)),
          events.slice(3).map((event) => event.id),
        );
        const behind = b.subscribe({ tenantId: 'tenant-a', after: cursors[1] });
        await behind.ready;
        assert.deepEqual(await take(behind, 1), [
          { type: 'reset', recovered: false, reason: 'history-gap' },
        ]);
        // The first event left history with its bytes: published again, it is no duplicate.
        const again = await b.publish(events[0] as CallEvent);
        assert.equal(again.duplicate, false);
        // An event larger than the whole budget is kept, alone: a cursor before it recovers.
        const big = makeConformanceEvent({ data: { note: 'y'.repeat(50_000) } });
        await b.publish(big);
        const gap = b.subscribe({ tenantId: 'tenant-a', after: cursors[5] });
        await gap.ready;
        assert.deepEqual(await take(gap, 1), [
          { type: 'reset', recovered: false, reason: 'history-gap' },
        ]);
        const onlyBig = b.subscribe({ tenantId: 'tenant-a', after: again.cursor });
        await onlyBig.ready;
        assert.deepEqual(eventIds(await take(onlyBig, 1)), [big.id]);
      });

      it('refuses a history.maxBytes that is not a positive integer', async () => {
        for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
          await assert.rejects(() => bus({ history: { maxBytes } }), InvalidArgumentError);
        }
      });

      it('de-duplicates only within the history window', async () => {
        const b = await bus({ history: { maxEvents: 3 } });
        const event = makeConformanceEvent();
        const first = await b.publish(event);
        for (let index = 0; index < 3; index += 1) await b.publish(makeConformanceEvent());
        const again = await b.publish(event);
        assert.equal(again.duplicate, false);
        assert.notEqual(again.cursor, first.cursor);
      });
    });

    describe('slow subscribers', () => {
      it('cuts a subscriber off with a lagged message after its buffer fills, without losing the position', async () => {
        const b = await bus({ maxBufferedMessages: 10 });
        const slow = b.subscribe({ tenantId: 'tenant-a' });
        const fast = b.subscribe({ tenantId: 'tenant-a' });
        await Promise.all([slow.ready, fast.ready]);
        const events = Array.from({ length: 30 }, () => makeConformanceEvent());
        // The fast one reads each event before the next is published, so only the slow one lags.
        const fastReceived: string[] = [];
        for (const event of events) {
          await b.publish(event);
          fastReceived.push(...eventIds(await take(fast, 1)));
        }
        assert.deepEqual(
          fastReceived,
          events.map((event) => event.id),
        );

        const received = await take(slow, 50);
        assert.deepEqual(
          eventIds(received),
          events.slice(0, 10).map((event) => event.id),
        );
        const last = received.at(-1);
        assert.equal(last?.type, 'lagged');
        assert.equal(received.length, 11);
        assert.equal((await slow.next()).done, true);

        // The lag cursor resumes exactly where delivery stopped.
        const resumed = b.subscribe({
          tenantId: 'tenant-a',
          after: last?.type === 'lagged' ? last.cursor : undefined,
        });
        assert.deepEqual(
          eventIds(await take(resumed, 20)),
          events.slice(10).map((event) => event.id),
        );
      });
    });
  });
}
