import { InvalidArgumentError, InvalidEventError } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { BusDeliveryError } from './bus-delivery-error';
import { eventIds, take } from './collect-bus-messages';
import type { BusOptions, BusSubscription, EventBus } from './event-bus';

/** Makes a bus for one test; every bus made is closed after the test. */
export type EventBusFactory = (options?: BusOptions) => Promise<EventBus>;

/**
 * The contract every bus backend must honour (DESIGN.md, "The bus contract"). Memory and Redis
 * run these very tests.
 */
export function describeEventBus(backend: string, makeBus: EventBusFactory): void {
  describe(`EventBus conformance: ${backend}`, () => {
    const buses: EventBus[] = [];
    const bus = async (options?: BusOptions): Promise<EventBus> => {
      const made = await makeBus(options);
      buses.push(made);
      return made;
    };
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((made) => made.close()));
    });

    describe('publish', () => {
      it('returns a cursor, and the same cursor with duplicate: true for a repeated id', async () => {
        const b = await bus();
        const event = makeCallEvent();
        const first = await b.publish(event);
        expect(first.duplicate).toBe(false);
        expect(typeof first.cursor).toBe('string');
        const again = await b.publish({ ...event, receivedAt: '2026-11-21T10:00:05.000Z' });
        expect(again).toEqual({ cursor: first.cursor, duplicate: true });
      });

      it('delivers a duplicate to nobody', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const event = makeCallEvent();
        await b.publish(event);
        await b.publish(event);
        const marker = makeCallEvent();
        await b.publish(marker);
        expect(eventIds(await take(subscription, 2))).toEqual([event.id, marker.id]);
      });

      it('rejects an invalid event with InvalidEventError naming the field, and publishes nothing', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const bad = { ...makeCallEvent(), status: 'answered' } as never;
        const error = await b.publish(bad).catch((caught: unknown) => caught);
        expect(InvalidEventError.isInstance(error)).toBe(true);
        expect((error as InvalidEventError).field).toBe('status');
        const good = makeCallEvent();
        await b.publish(good);
        expect(eventIds(await take(subscription, 1))).toEqual([good.id]);
      });

      it('gives cursors that increase per tenant in publish order, even when publishes overlap', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const events = Array.from({ length: 200 }, () => makeCallEvent());
        const results = await Promise.all(events.map((event) => b.publish(event)));
        expect(new Set(results.map((result) => result.cursor)).size).toBe(200);
        const received = await take(subscription, 200);
        expect(eventIds(received)).toEqual(events.map((event) => event.id));
        expect(received.map((message) => (message.type === 'event' ? message.cursor : ''))).toEqual(
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
          makeCallEvent({ data: { analysis: nested(20_000) } }),
          makeCallEvent({ raw: nested(20_000) }),
        ]) {
          const error = await b.publish(bad).catch((caught: unknown) => caught);
          expect(InvalidEventError.isInstance(error)).toBe(true);
          expect((error as InvalidEventError).status).toBe(400);
          expect((error as InvalidEventError).field).toMatch(/^(data\.analysis|raw)/);
          expect((error as Error).message).toMatch(/deeper than 32 levels/);
        }
        const good = makeCallEvent();
        await b.publish(good);
        expect(eventIds(await take(subscription, 1))).toEqual([good.id]);
      });

      it('refuses events JSON cannot write (a BigInt, a throwing toJSON) with a 400, publishing nothing', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        for (const bad of [
          makeCallEvent({ data: { big: 10n } as never }),
          makeCallEvent({
            raw: {
              toJSON: () => {
                throw new Error('no');
              },
            },
          }),
        ]) {
          const error = await b.publish(bad).catch((caught: unknown) => caught);
          expect(InvalidEventError.isInstance(error)).toBe(true);
          expect((error as InvalidEventError).status).toBe(400);
        }
        const good = makeCallEvent();
        await b.publish(good);
        expect(eventIds(await take(subscription, 1))).toEqual([good.id]);
      });

      it('keeps delivering to every other subscription when handing an event to one of them fails', async () => {
        const errors: Error[] = [];
        const b = await bus({ onError: (error) => errors.push(error) });
        const broken = b.subscribe({ tenantId: 'tenant-a' });
        const healthy = b.subscribe({ tenantId: 'tenant-a' });
        const everyone = b.subscribe({ allTenants: true });
        await Promise.all([broken.ready, healthy.ready, everyone.ready]);
        // Fault injection: the subscription object is the producer's queue; make its push fail.
        (broken as BusSubscription & { push: () => never }).push = () => {
          throw new Error('consumer bug');
        };
        const events = [makeCallEvent(), makeCallEvent(), makeCallEvent()];
        for (const event of events) await b.publish(event);
        expect(eventIds(await take(healthy, 3))).toEqual(events.map((event) => event.id));
        expect(eventIds(await take(everyone, 3))).toEqual(events.map((event) => event.id));
        // The broken one is cut off with a resumable lag, and said so once.
        await expect(broken.next()).resolves.toMatchObject({ value: { type: 'lagged' } });
        await expect(broken.next()).resolves.toMatchObject({ done: true });
        const reports = errors.filter((error) => BusDeliveryError.isInstance(error));
        expect(reports).toHaveLength(1);
        expect(reports[0]).toMatchObject({ reason: 'subscriber', tenantId: 'tenant-a' });
      });
    });

    describe('subscribe', () => {
      it('refuses a subscription without a tenant unless allTenants is explicit', async () => {
        const b = await bus();
        expect(() => b.subscribe({})).toThrowError(/tenantId/);
        expect(() => b.subscribe({})).toSatisfy(() => {
          try {
            b.subscribe({ allTenants: false });
          } catch (error) {
            return InvalidArgumentError.isInstance(error);
          }
          return false;
        });
        expect(() => b.subscribe({ tenantId: 'a', allTenants: true })).toThrowError(/either/);
        expect(() => b.subscribe({ allTenants: true, after: 'x:1' })).toThrowError(/after/);
        expect(() => b.subscribe({ tenantId: 'bad tenant' })).toThrowError(/tenantId/);
      });

      it("never delivers one tenant's events to another, and allTenants sees both", async () => {
        const b = await bus();
        const a = b.subscribe({ tenantId: 'tenant-a' });
        const other = b.subscribe({ tenantId: 'tenant-b' });
        const all = b.subscribe({ allTenants: true });
        await Promise.all([a.ready, other.ready, all.ready]);
        const forA = makeCallEvent({ tenantId: 'tenant-a' });
        const forB = makeCallEvent({ tenantId: 'tenant-b' });
        await b.publish(forA);
        await b.publish(forB);
        const lastA = makeCallEvent({ tenantId: 'tenant-a' });
        await b.publish(lastA);
        expect(eventIds(await take(a, 2))).toEqual([forA.id, lastA.id]);
        expect(eventIds(await take(other, 1))).toEqual([forB.id]);
        // Order holds per tenant; across tenants (on different Cluster nodes) it need not.
        const seen = eventIds(await take(all, 3));
        expect(seen.filter((id) => id !== forB.id)).toEqual([forA.id, lastA.id]);
        expect(seen).toContain(forB.id);
      });

      it('filters by call id and by type, including a prefix', async () => {
        const b = await bus();
        const byCall = b.subscribe({ tenantId: 'tenant-a', callId: 'CA-filter' });
        const byType = b.subscribe({ tenantId: 'tenant-a', types: ['call.ended'] });
        const byPrefix = b.subscribe({ tenantId: 'tenant-a', types: ['alert.*'] });
        await Promise.all([byCall.ready, byType.ready, byPrefix.ready]);
        const ringing = makeCallEvent({ callId: 'CA-filter' });
        const otherCall = makeCallEvent({
          callId: 'CA-other',
          type: 'call.ended',
          status: 'completed',
        });
        const ended = makeCallEvent({
          callId: 'CA-filter',
          type: 'call.ended',
          status: 'completed',
        });
        const alert = makeCallEvent({
          type: 'alert.long_call',
          callId: undefined,
          status: undefined,
        });
        for (const event of [ringing, otherCall, ended, alert]) await b.publish(event);
        expect(eventIds(await take(byCall, 2))).toEqual([ringing.id, ended.id]);
        expect(eventIds(await take(byType, 2))).toEqual([otherCall.id, ended.id]);
        expect(eventIds(await take(byPrefix, 1))).toEqual([alert.id]);
      });

      it('ends on return(), and a pending next() resolves as done', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const pending = subscription.next();
        await subscription.return?.();
        await expect(pending).resolves.toEqual({ done: true, value: undefined });
        await b.publish(makeCallEvent());
        await expect(subscription.next()).resolves.toMatchObject({ done: true });
      });

      it('settles next() calls in flight together in call order, and every one left on close()', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        // The AsyncIterator protocol allows calls before the previous one settled.
        const first = subscription.next();
        const second = subscription.next();
        const third = subscription.next();
        const events = [makeCallEvent(), makeCallEvent()];
        for (const event of events) await b.publish(event);
        const [a, c] = await Promise.all([first, second]);
        expect([a, c].map((result) => result.value)).toEqual(
          events.map((event) => expect.objectContaining({ type: 'event', event })),
        );
        const fourth = subscription.next();
        await subscription.close();
        await expect(third).resolves.toEqual({ done: true, value: undefined });
        await expect(fourth).resolves.toEqual({ done: true, value: undefined });
      });

      it('ends when its AbortSignal aborts, including one aborted before subscribing', async () => {
        const b = await bus();
        const controller = new AbortController();
        const subscription = b.subscribe({ tenantId: 'tenant-a', signal: controller.signal });
        await subscription.ready;
        const pending = subscription.next();
        controller.abort();
        await expect(pending).resolves.toMatchObject({ done: true });
        const early = b.subscribe({ tenantId: 'tenant-a', signal: AbortSignal.abort() });
        await expect(early.next()).resolves.toMatchObject({ done: true });
      });

      it('ends every subscription on close()', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const pending = subscription.next();
        await b.close();
        await expect(pending).resolves.toMatchObject({ done: true });
      });

      it('works with for await and break', async () => {
        const b = await bus();
        const subscription = b.subscribe({ tenantId: 'tenant-a' });
        await subscription.ready;
        const events = [makeCallEvent(), makeCallEvent(), makeCallEvent()];
        for (const event of events) await b.publish(event);
        const seen: string[] = [];
        for await (const message of subscription) {
          if (message.type === 'event') seen.push(message.event.id);
          if (seen.length === 2) break;
        }
        expect(seen).toEqual([events[0]?.id, events[1]?.id]);
        await expect(subscription.next()).resolves.toMatchObject({ done: true });
      });
    });

    describe('resume', () => {
      it('replays every event after the cursor in order, then live events, with nothing lost or repeated', async () => {
        const b = await bus();
        const events = Array.from({ length: 10 }, () => makeCallEvent());
        const cursors: string[] = [];
        for (const event of events) cursors.push((await b.publish(event)).cursor);
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursors[3] });
        await subscription.ready;
        const live = makeCallEvent();
        const liveCursor = (await b.publish(live)).cursor;
        const received = await take(subscription, 7);
        expect(eventIds(received)).toEqual([...events.slice(4).map((event) => event.id), live.id]);
        // An event has one cursor, however it arrives: publish, history or live.
        expect(received.map((message) => message.type === 'event' && message.cursor)).toEqual([
          ...cursors.slice(4),
          liveCursor,
        ]);
      });

      it('has no gap and no duplicate at the seam while events keep arriving', async () => {
        const b = await bus();
        const events = Array.from({ length: 300 }, () => makeCallEvent());
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
        expect(received.every((message) => message.type === 'event')).toBe(true);
        expect(eventIds(received)).toEqual(events.slice(50).map((event) => event.id));
      });

      it('replays only what matches the filter', async () => {
        const b = await bus();
        const first = await b.publish(makeCallEvent());
        const wanted = makeCallEvent({ callId: 'CA-resume' });
        await b.publish(makeCallEvent());
        await b.publish(wanted);
        const subscription = b.subscribe({
          tenantId: 'tenant-a',
          callId: 'CA-resume',
          after: first.cursor,
        });
        const marker = makeCallEvent({ callId: 'CA-resume' });
        await subscription.ready;
        await b.publish(marker);
        expect(eventIds(await take(subscription, 2))).toEqual([wanted.id, marker.id]);
      });

      it('gives a position to resume from, for a tenant with no events yet too', async () => {
        const b = await bus();
        const tenantId = 'tenant-fresh';
        const empty = await b.position!(tenantId);
        const first = [makeCallEvent({ tenantId }), makeCallEvent({ tenantId })];
        for (const event of first) await b.publish(event);
        const later = await b.position!(tenantId);
        const last = makeCallEvent({ tenantId });
        const { cursor } = await b.publish(last);
        // The position is the newest event's cursor.
        expect(await b.position!(tenantId)).toBe(cursor);
        const fromEmpty = b.subscribe({ tenantId, after: empty });
        await fromEmpty.ready;
        expect(eventIds(await take(fromEmpty, 3))).toEqual(
          [...first, last].map((event) => event.id),
        );
        const fromLater = b.subscribe({ tenantId, after: later });
        await fromLater.ready;
        expect(eventIds(await take(fromLater, 1))).toEqual([last.id]);
        await expect(b.position!('a tenant')).rejects.toThrow(InvalidArgumentError);
      });

      it('resumes from the newest cursor with nothing to replay and no reset', async () => {
        const b = await bus();
        const { cursor } = await b.publish(makeCallEvent());
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursor });
        await subscription.ready;
        const live = makeCallEvent();
        await b.publish(live);
        expect(await take(subscription, 1)).toEqual([
          expect.objectContaining({
            type: 'event',
            event: expect.objectContaining({ id: live.id }),
          }),
        ]);
      });

      it('signals recovered: false (history-gap) when the gap has left history, then goes on live', async () => {
        const b = await bus({ history: { maxEvents: 5 } });
        const cursors: string[] = [];
        for (let index = 0; index < 10; index += 1)
          cursors.push((await b.publish(makeCallEvent())).cursor);
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursors[1] });
        await subscription.ready;
        const live = makeCallEvent();
        await b.publish(live);
        const [reset, next] = await take(subscription, 2);
        expect(reset).toEqual({ type: 'reset', recovered: false, reason: 'history-gap' });
        expect(next).toMatchObject({ type: 'event', event: { id: live.id } });
      });

      it('recovers exactly when the whole gap is still in history', async () => {
        const b = await bus({ history: { maxEvents: 5 } });
        const events = Array.from({ length: 10 }, () => makeCallEvent());
        const cursors: string[] = [];
        for (const event of events) cursors.push((await b.publish(event)).cursor);
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursors[4] });
        await subscription.ready;
        expect(eventIds(await take(subscription, 5))).toEqual(
          events.slice(5).map((event) => event.id),
        );
      });

      it('signals stream-reset for a cursor of another tenant (a user who switched workspace)', async () => {
        const b = await bus();
        let cursorOfA = '';
        for (let index = 0; index < 5; index += 1) {
          cursorOfA = (await b.publish(makeCallEvent({ tenantId: 'tenant-a' }))).cursor;
        }
        const events = Array.from({ length: 8 }, () => makeCallEvent({ tenantId: 'tenant-b' }));
        for (const event of events) await b.publish(event);
        const subscription = b.subscribe({ tenantId: 'tenant-b', after: cursorOfA });
        await subscription.ready;
        const live = makeCallEvent({ tenantId: 'tenant-b' });
        await b.publish(live);
        const [reset] = await take(subscription, 1);
        expect(reset).toEqual({ type: 'reset', recovered: false, reason: 'stream-reset' });
        // Then, as after any stream-reset, the stream from its first event (the Redis bus, which
        // cannot tell a foreign cursor from a restarted Redis) or from now on: tenant-b's either way.
        const ids = new Set([...events, live].map((event) => event.id));
        const after: string[] = [];
        while (after.at(-1) !== live.id) {
          const [message] = await take(subscription, 1);
          expect(message).toMatchObject({ type: 'event' });
          after.push((message as { event: { id: string } }).event.id);
        }
        expect(after.every((id) => ids.has(id))).toBe(true);
      });

      it('signals stream-reset for a cursor that is not one, or belongs to another stream', async () => {
        const b = await bus();
        await b.publish(makeCallEvent());
        for (const after of ['garbage', 'otherepoch:1', '', 'x:99999999']) {
          const subscription = b.subscribe({ tenantId: 'tenant-a', after });
          await subscription.ready;
          expect(await take(subscription, 1)).toEqual([
            { type: 'reset', recovered: false, reason: 'stream-reset' },
          ]);
          await subscription.close();
        }
      });

      it('forgets events that are older than the age limit', async () => {
        const b = await bus({ history: { maxAgeMs: 150 } });
        const old = makeCallEvent();
        const { cursor } = await b.publish(old);
        await b.publish(makeCallEvent());
        await new Promise((resolve) => setTimeout(resolve, 300)); // let the age limit pass
        const subscription = b.subscribe({ tenantId: 'tenant-a', after: cursor });
        await subscription.ready;
        expect(await take(subscription, 1)).toEqual([
          { type: 'reset', recovered: false, reason: 'history-gap' },
        ]);
        expect(await b.publish(old)).toMatchObject({ duplicate: false });
      });

      it('de-duplicates only within the history window', async () => {
        const b = await bus({ history: { maxEvents: 3 } });
        const event = makeCallEvent();
        const first = await b.publish(event);
        for (let index = 0; index < 3; index += 1) await b.publish(makeCallEvent());
        const again = await b.publish(event);
        expect(again.duplicate).toBe(false);
        expect(again.cursor).not.toBe(first.cursor);
      });
    });

    describe('slow subscribers', () => {
      it('cuts a subscriber off with a lagged message after its buffer fills, without losing the position', async () => {
        const b = await bus({ maxBufferedMessages: 10 });
        const slow = b.subscribe({ tenantId: 'tenant-a' });
        const fast = b.subscribe({ tenantId: 'tenant-a' });
        await Promise.all([slow.ready, fast.ready]);
        const events = Array.from({ length: 30 }, () => makeCallEvent());
        // The fast one reads each event before the next is published, so only the slow one lags.
        const fastReceived: string[] = [];
        for (const event of events) {
          await b.publish(event);
          fastReceived.push(...eventIds(await take(fast, 1)));
        }
        expect(fastReceived).toEqual(events.map((event) => event.id));

        const received = await take(slow, 50);
        expect(eventIds(received)).toEqual(events.slice(0, 10).map((event) => event.id));
        const last = received.at(-1);
        expect(last?.type).toBe('lagged');
        expect(received).toHaveLength(11);
        await expect(slow.next()).resolves.toMatchObject({ done: true });

        // The lag cursor resumes exactly where delivery stopped.
        const resumed = b.subscribe({
          tenantId: 'tenant-a',
          after: last?.type === 'lagged' ? last.cursor : undefined,
        });
        expect(eventIds(await take(resumed, 20))).toEqual(
          events.slice(10).map((event) => event.id),
        );
      });
    });
  });
}
