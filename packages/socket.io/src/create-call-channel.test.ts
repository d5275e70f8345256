import { type BusEventMessage, createMemoryBus, type EventBus } from '@calltrack/bus';
import { Server } from 'socket.io';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog } from './__tests__/event-log';
import { type FaultyBus, faultyBus, type PoisonKind } from './__tests__/faulty-bus';
import { gatedBus } from './__tests__/gated-bus';
import { makeEvent } from './__tests__/make-event';
import {
  connected,
  startSocketServer,
  type TestSocketServer,
} from './__tests__/start-socket-server';
import { BusSubscriptionLostError } from './bus-subscription-lost-error';
import type { ActiveCallsPayload, CallTrackAck, CallTrackDelivery } from './call-track-protocol';
import type { CallTrackSocketErrorInfo } from './call-track-socket-error-info';
import { type CallChannel, createCallChannel } from './create-call-channel';
import { UndeliverableEventError } from './undeliverable-event-error';

const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];
const channels: CallChannel[] = [];

afterEach(async () => {
  for (const channel of channels.splice(0)) channel.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

async function setup(bus: EventBus = createMemoryBus()) {
  const faulty = faultyBus(bus);
  buses.push(faulty);
  const errors: unknown[] = [];
  const infos: CallTrackSocketErrorInfo[] = [];
  const server = await startSocketServer(faulty, {
    onError: (error, info) => {
      errors.push(error);
      infos.push(info);
    },
  });
  servers.push(server);
  return { bus: faulty, server, errors, infos };
}

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/** A connected client streaming tenant `a`'s calls, and its log. */
async function streaming(server: TestSocketServer, user: string) {
  const socket = server.client({ token: `token:a:${user}` });
  const log = createEventLog(socket);
  await connected(socket);
  expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
  return { socket, log };
}

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);

const liveSubscriptions = (bus: FaultyBus, tenantId: string) =>
  bus.subscribeCalls.filter((options) => options.tenantId === tenantId && !options.allTenants);

describe('a tenant channel: one bad event never takes it down', () => {
  it.each<PoisonKind>(['toJSON', 'data-getter', 'type-getter'])(
    'skips an event poisoned with a throwing %s, reports it, and keeps delivering to existing and later connections',
    async (kind) => {
      const { bus, server, errors, infos } = await setup();
      const early = await streaming(server, 'u1');
      // A connection that only follows the call: its room is in the same emit.
      const follower = server.client({ token: 'token:a:u2' });
      const followerLog = createEventLog(follower);
      await connected(follower);
      expect(await ack(follower, 'subscribe_to_call', { callId: 'CA-p' })).toEqual({ ok: true });

      await bus.publish(makeEvent('a', { id: 'good-1', type: 'call.initiated', callId: 'CA-p' }));
      bus.poison('poison', kind);
      const poison = await bus.publish(
        makeEvent('a', { id: 'poison', type: 'call.ringing', callId: 'CA-p' }),
      );
      await bus.publish(makeEvent('a', { id: 'good-2', type: 'call.answered', callId: 'CA-p' }));
      expect(ids(await early.log.waitFor('call_update', 2))).toEqual(['good-1', 'good-2']);
      expect(ids(await followerLog.waitFor('call_update', 2))).toEqual(['good-1', 'good-2']);
      // No half-sent event: neither the poisoned update nor its lifecycle companion went out.
      // In its place, in order, a `reset` tells each connection it was meant for (the stream and
      // the call's follower alike) that it missed an event and must reload: a lost `call.ended`
      // would otherwise leave the call live on that client for good.
      const names = ['call_update', 'call:started', 'reset', 'call_update', 'call:status_updated'];
      expect(early.log.events.map((entry) => entry.name)).toEqual(names);
      expect(followerLog.events.map((entry) => entry.name)).toEqual(names);
      for (const log of [early.log, followerLog]) {
        expect(log.named('reset').map((entry) => entry.payload)).toEqual([
          { reason: 'event-skipped' },
        ]);
      }

      const later = await streaming(server, 'u3');
      await bus.publish(makeEvent('a', { id: 'good-3', callId: 'CA-p' }));
      expect(ids(await later.log.waitFor('call_update'))).toEqual(['good-3']);
      // It connected after the skip: it missed nothing.
      expect(later.log.named('reset')).toEqual([]);
      expect(ids(await early.log.waitFor('call_update', 3))).toEqual([
        'good-1',
        'good-2',
        'good-3',
      ]);

      expect(errors).toHaveLength(1);
      const [error] = errors;
      expect(UndeliverableEventError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'undeliverable_event',
        cursor: poison.cursor,
        eventId: 'poison',
        tenantId: 'a',
      });
      expect(String((error as Error).message)).toContain(`poisoned event poison: ${kind}`);
      // Skipped for every connection of the tenant at once: no one connection's failure.
      expect(infos).toEqual([
        {
          skipped: {
            cursor: poison.cursor,
            eventId: 'poison',
            ...(kind === 'type-getter' ? {} : { type: 'call.ringing' }),
            tenantId: 'a',
          },
        },
      ]);
      // The channel never restarted: one live subscription for the tenant, from the start.
      expect(liveSubscriptions(bus, 'a')).toHaveLength(1);
      expect(bus.open('a')).toBe(1);
    },
  );

  it('sends the reset (event-skipped) only to the connections the event was meant for', async () => {
    const { bus, server } = await setup();
    const stream = await streaming(server, 'u1');
    const other = await streaming(server, 'u2');
    const endedOnly = server.client({ token: 'token:a:u3' });
    const endedOnlyLog = createEventLog(endedOnly);
    await connected(endedOnly);
    expect(await ack(endedOnly, 'subscribe_to_calls', { types: ['call.ended'] })).toEqual({
      ok: true,
    });
    const follower = server.client({ token: 'token:a:u4' });
    const followerLog = createEventLog(follower);
    await connected(follower);
    expect(await ack(follower, 'subscribe_to_call', { callId: 'CA-other' })).toEqual({ ok: true });
    const tenantB = server.client({ token: 'token:b:u1' });
    const tenantBLog = createEventLog(tenantB);
    await connected(tenantB);
    expect(await ack(tenantB, 'subscribe_to_calls')).toEqual({ ok: true });

    bus.poison('poison', 'toJSON');
    await bus.publish(makeEvent('a', { id: 'poison', type: 'call.ringing', callId: 'CA-p' }));
    // A user-addressed event is meant for that user's connections alone.
    bus.poison('message', 'toJSON');
    await bus.publish(
      makeEvent('a', {
        id: 'message',
        type: 'user.message',
        userId: 'u1',
        callId: undefined,
        data: { audience: 'user', message: { text: 'hello' } },
      }),
    );
    await bus.publish(makeEvent('a', { id: 'marker', type: 'call.ended', callId: 'CA-other' }));
    await bus.publish(makeEvent('b', { id: 'marker-b' }));
    for (const log of [stream.log, other.log, endedOnlyLog, followerLog]) {
      expect(ids(await log.waitFor('call_update'))).toEqual(['marker']);
    }
    expect(ids(await tenantBLog.waitFor('call_update'))).toEqual(['marker-b']);

    const resets = (log: { named(name: string): { payload: unknown }[] }) =>
      log.named('reset').map((entry) => entry.payload);
    expect(resets(stream.log)).toEqual([{ reason: 'event-skipped' }, { reason: 'event-skipped' }]);
    expect(resets(other.log)).toEqual([{ reason: 'event-skipped' }]);
    for (const log of [endedOnlyLog, followerLog, tenantBLog]) expect(resets(log)).toEqual([]);
  });

  it('a client told to reload after a skipped call.ended gets a snapshot without the call: it does not stay live', async () => {
    const bus = faultyBus(createMemoryBus());
    buses.push(bus);
    const tracker = createTestTracker(bus);
    const server = await startSocketServer(bus, { tracker: tracker.reader });
    servers.push(server);
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    // The README's client: on `reset`, subscribe again for a fresh snapshot.
    socket.on('reset', () => {
      void ack(socket, 'subscribe_to_calls');
    });
    await tracker.ingest(makeEvent('a', { id: 'start', type: 'call.initiated', callId: 'CA-1' }));
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const callIds = (entry: { payload: unknown } | undefined) =>
      (entry?.payload as ActiveCallsPayload | undefined)?.calls.map((call) => call.callId);
    expect(callIds(log.named('active_calls')[0])).toEqual(['CA-1']);

    bus.poison('end', 'toJSON');
    await tracker.ingest(makeEvent('a', { id: 'end', type: 'call.ended', callId: 'CA-1' }));
    const reloaded = (await log.waitFor('active_calls', 2))[1];
    expect(callIds(reloaded)).toEqual([]);
    expect(reloaded?.payload).toMatchObject({ complete: true });
    expect(log.named('reset').map((entry) => entry.payload)).toEqual([{ reason: 'event-skipped' }]);
    expect(log.named('call_update')).toEqual([]);
    // Streaming again after the reload.
    await tracker.ingest(makeEvent('a', { id: 'next', type: 'call.initiated', callId: 'CA-2' }));
    expect(ids(await log.waitFor('call_update'))).toEqual(['next']);
  });

  it('keeps delivering when onError itself throws', async () => {
    const bus = faultyBus(createMemoryBus());
    buses.push(bus);
    const server = await startSocketServer(bus, {
      onError: () => {
        throw new Error('the logger is down');
      },
    });
    servers.push(server);
    const { log } = await streaming(server, 'u1');
    bus.poison('poison', 'toJSON');
    await bus.publish(makeEvent('a', { id: 'poison' }));
    await bus.publish(makeEvent('a', { id: 'after' }));
    expect(ids(await log.waitFor('call_update'))).toEqual(['after']);
  });
});

describe('a tenant channel: a lost subscription restarts', () => {
  it('resumes after the last cursor when its subscription ends, missing and repeating nothing', async () => {
    const { bus, server, errors } = await setup();
    const { log } = await streaming(server, 'u1');
    const first = await bus.publish(makeEvent('a', { id: 'e1' }));
    await log.waitFor('call_update', 1);

    expect(bus.endSubscriptions({ tenantId: 'a' })).toBe(1);
    // Published in the same tick: it falls in the gap between the old subscription and the new.
    await bus.publish(makeEvent('a', { id: 'e2' }));
    await bus.publish(makeEvent('a', { id: 'e3' }));
    expect(ids(await log.waitFor('call_update', 3))).toEqual(['e1', 'e2', 'e3']);
    expect(liveSubscriptions(bus, 'a').at(-1)).toMatchObject({ after: first.cursor });

    const later = await streaming(server, 'u2');
    await bus.publish(makeEvent('a', { id: 'e4' }));
    expect(ids(await later.log.waitFor('call_update'))).toEqual(['e4']);
    expect(ids(await log.waitFor('call_update', 4))).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(log.named('reset')).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(BusSubscriptionLostError.isInstance(errors[0])).toBe(true);
    expect(errors[0]).toMatchObject({ code: 'bus_subscription_lost', tenantId: 'a', attempt: 1 });
    expect(bus.open('a')).toBe(1);
  });

  it('resumes after the last cursor when its subscription fails', async () => {
    const { bus, server, errors } = await setup();
    const { log } = await streaming(server, 'u1');
    await bus.publish(makeEvent('a', { id: 'e1' }));
    await log.waitFor('call_update', 1);
    const failure = new Error('connection reset by peer');
    expect(bus.failSubscriptions({ tenantId: 'a' }, failure)).toBe(1);
    await bus.publish(makeEvent('a', { id: 'e2' }));
    expect(ids(await log.waitFor('call_update', 2))).toEqual(['e1', 'e2']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).cause).toBe(failure);
    expect((errors[0] as Error).message).toContain('failed');
  });

  it('tells its rooms to reload when it is lost before any event (no cursor to resume after)', async () => {
    const { bus, server } = await setup();
    const { socket, log } = await streaming(server, 'u1');
    bus.endSubscriptions({ tenantId: 'a' });
    expect((await log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'reconnected' });
    // Reloaded, the connection streams again; so did the rooms all along.
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    await bus.publish(makeEvent('a', { id: 'after-reset' }));
    expect(ids(await log.waitFor('call_update'))).toEqual(['after-reset']);
  });

  it('continues from history, without a reset, after reading too slowly (lagged)', async () => {
    const gated = gatedBus(createMemoryBus({ maxBufferedMessages: 5 }));
    const { bus, server, errors } = await setup(gated);
    const { log } = await streaming(server, 'u1');
    gated.hold('live');
    const published: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      const event = makeEvent('a');
      published.push(event.id);
      await bus.publish(event);
    }
    gated.release('live');
    expect(ids(await log.waitFor('call_update', 20))).toEqual(published);
    expect(log.named('reset')).toEqual([]);
    expect(errors).toEqual([]);
    expect(liveSubscriptions(bus, 'a').length).toBeGreaterThan(1);
  });
});

describe('createCallChannel: restarts', () => {
  async function channelOn(bus: EventBus, delays: number[]) {
    const io = new Server();
    const errors: unknown[] = [];
    const due: (() => void)[] = [];
    const channel = createCallChannel({
      tenantId: 'a',
      bus,
      namespace: io.of('/'),
      onError: (error) => errors.push(error),
      // The test's clock: a restart waits until the test lets it run.
      schedule: (delayMs, run) => {
        delays.push(delayMs);
        due.push(run);
        return () => {};
      },
    });
    channels.push(channel);
    const seen: BusEventMessage[] = [];
    channel.listeners.add({ onLive: (message) => seen.push(message), onReset: () => {} });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const runDue = async () => {
      for (const run of due.splice(0)) run();
      await settle();
    };
    await settle();
    return { channel, errors, seen, runDue };
  }

  it('backs off while subscribing keeps failing, then attaches and delivers', async () => {
    const bus = faultyBus(createMemoryBus());
    buses.push(bus);
    bus.failSubscribe(3, new Error('bus unavailable'));
    const delays: number[] = [];
    const { channel, errors, seen, runDue } = await channelOn(bus, delays);
    let attached = false;
    void channel.ready.then(() => {
      attached = true;
    });
    // First retry at once, then 100 ms: waiting for the test's clock.
    expect(delays).toEqual([100]);
    expect(attached).toBe(false);
    await runDue();
    expect(delays).toEqual([100, 200]);
    await runDue();
    await channel.ready;
    expect(errors.map((error) => (error as BusSubscriptionLostError).attempt)).toEqual([1, 2, 3]);
    await bus.publish(makeEvent('a', { id: 'through' }));
    while (seen.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(seen.map((message) => message.event.id)).toEqual(['through']);
  });

  it('keeps trying at most every 5 s against a closed bus, without a busy loop', async () => {
    const bus = createMemoryBus();
    await bus.close();
    const delays: number[] = [];
    const { channel, runDue } = await channelOn(bus, delays);
    for (let round = 0; round < 9; round += 1) await runDue();
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    channel.close();
    await runDue();
    expect(delays).toHaveLength(10);
  });
});
