import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { makeCallEvent, poisonBus, testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { TRPCClientError } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { type Collector, collectSubscription } from './__tests__/collect-subscription';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import {
  createContext,
  createTestClient,
  startTestServer,
  type TestServer,
  t,
} from './__tests__/start-test-server';
import type { CallStreamErrorInfo } from './call-stream-error-info';
import {
  type CallStreamMessage,
  type CallStreamResetMessage,
  callStreamStartId,
} from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

type Received = { id: string; data: CallStreamMessage };

const realSetTimeout = globalThis.setTimeout;

/** What the routers' `onError` received (reset by each test). */
let reported: { error: unknown; info: CallStreamErrorInfo }[] = [];

const makeAppRouter = (bus: EventBus, tracker?: ReturnType<typeof createCallTracker>) =>
  t.router({
    calltrack: createCallTrackRouter({
      t,
      bus,
      tracker: tracker ?? createCallTracker({ bus, clock: testEventClock() }),
      authenticate: (ctx) => ctx.principal,
      onError: (error, info) => reported.push({ error, info }),
    }),
  });
type AppRouter = ReturnType<typeof makeAppRouter>;

const eventIds = (collector: Collector<Received>): string[] =>
  collector.data.flatMap((m) => (m.data.type === 'event' ? [m.data.event.id] : []));

describe('createCallTrackRouter over the real tRPC client (SSE + batch)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    reported = [];
  });

  const setup = async (options: { bus?: EventBus } = {}) => {
    const observed = observeSubscriptions(options.bus ?? createMemoryBus());
    const tracker = createCallTracker({ bus: observed.bus, clock: testEventClock() });
    const server: TestServer = await startTestServer(makeAppRouter(observed.bus, tracker));
    cleanups.push(
      () => observed.bus.close(),
      () => server.close(),
    );
    const clientFor = (token?: string) => createTestClient<AppRouter>(server.url, token);
    const subscribe = (
      token: string | undefined,
      input: Parameters<ReturnType<typeof clientFor>['calltrack']['onCallEvent']['subscribe']>[0],
    ) => {
      const collector = collectSubscription<Received>();
      const subscription = clientFor(token).calltrack.onCallEvent.subscribe(
        input,
        collector.callbacks,
      );
      cleanups.push(() => subscription.unsubscribe());
      return { collector, subscription };
    };
    return { ...observed, tracker, server, clientFor, subscribe };
  };

  it('types flow to the client: tracked messages and CallSnapshot[]', () => {
    const client = createTestClient<AppRouter>('http://127.0.0.1:1');
    type Output = inferRouterOutputs<AppRouter>['calltrack']['onCallEvent'];
    type Yielded = Output extends AsyncIterable<infer Value> ? Value : never;
    // The client sees the JSON-serialized form of { id, data: CallStreamMessage }.
    expectTypeOf<Yielded['id']>().toEqualTypeOf<string>();
    expectTypeOf<Yielded['data']['type']>().toEqualTypeOf<
      'ready' | 'resumed' | 'event' | 'presence' | 'presence-unavailable' | 'reset'
    >();
    expectTypeOf<Yielded['data']>().toExtend<CallStreamMessage>();
    expectTypeOf<Extract<Yielded['data'], { type: 'reset' }>['reason']>().toEqualTypeOf<
      CallStreamResetMessage['reason']
    >();
    expectTypeOf<
      Extract<Yielded['data'], { type: 'event' }>['event']['tenantId']
    >().toEqualTypeOf<string>();
    type Input = inferRouterInputs<AppRouter>['calltrack']['onCallEvent'];
    expectTypeOf<undefined>().toExtend<Input>();
    expectTypeOf<{ callId: 'CA1'; types: ['call.*']; lastEventId: 'c:1' }>().toExtend<Input>();
    expectTypeOf<{ tenantId: 'tenant-b' }>().not.toExtend<Input>();
    type Active = Awaited<ReturnType<typeof client.calltrack.activeCalls.query>>;
    expectTypeOf<Active[number]['callId']>().toEqualTypeOf<string>();
    type Snapshot = Awaited<ReturnType<typeof client.calltrack.activeCallsSnapshot.query>>;
    expectTypeOf<Snapshot['calls'][number]['callId']>().toEqualTypeOf<string>();
    expectTypeOf<Snapshot['complete']>().toEqualTypeOf<boolean>();
  });

  it('delivers only the authenticated tenant’s events, whatever the input says', async () => {
    const { bus, nth, subscribe } = await setup();
    const forged = { tenantId: 'tenant-b' } as unknown as { callId?: string };
    const a = subscribe('token-a', forged);
    const aByBCall = subscribe('token-a', { callId: 'CA-b-1' });
    const b = subscribe('token-b', undefined);
    const [sa, sab, sb] = await Promise.all([nth(1), nth(2), nth(3)]);
    await Promise.all([sa.subscription.ready, sab.subscription.ready, sb.subscription.ready]);
    for (const observed of [sa, sab]) expect(observed.options.tenantId).toBe('tenant-a');
    expect(sb.options.tenantId).toBe('tenant-b');

    const published: Record<string, string[]> = { 'tenant-a': [], 'tenant-b': [] };
    for (let i = 0; i < 10; i += 1) {
      const tenantId = i % 2 === 0 ? 'tenant-b' : 'tenant-a';
      const event = makeCallEvent({ tenantId, callId: `CA-${tenantId.slice(-1)}-${i}` });
      published[tenantId]?.push(event.id);
      await bus.publish(event);
    }
    // A's own call with the id it filtered on: the only thing the filtered subscription may get.
    const own = makeCallEvent({ tenantId: 'tenant-a', callId: 'CA-b-1' });
    await bus.publish(own);
    published['tenant-a']?.push(own.id);

    await a.collector.until(() => eventIds(a.collector).length === 6);
    await b.collector.until(() => eventIds(b.collector).length === 5);
    await aByBCall.collector.until(() => eventIds(aByBCall.collector).length === 1);
    for (const { collector } of [a, aByBCall, b]) {
      expect(collector.data[0]).toEqual({ id: callStreamStartId, data: { type: 'ready' } });
    }
    expect(eventIds(a.collector)).toEqual(published['tenant-a']);
    expect(eventIds(b.collector)).toEqual(published['tenant-b']);
    expect(eventIds(aByBCall.collector)).toEqual([own.id]);
    for (const m of a.collector.data.slice(1)) {
      expect(m.data.type === 'event' && m.data.event.tenantId).toBe('tenant-a');
    }
  });

  it('after a dropped connection, resumes with exactly the 50 missed events, in order', async () => {
    const { bus, server, subscriptions, subscribe } = await setup();
    const { collector } = subscribe('token-a', { types: ['call.*'] });
    // A second client that has received nothing but `ready` when the connection drops.
    const { collector: quiet } = subscribe('token-a', { callId: 'CA-quiet' });
    await collector.until(() => collector.data.length === 1);
    await quiet.until(() => quiet.data.length === 1);
    const before = Array.from({ length: 5 }, () => makeCallEvent());
    for (const event of before) await bus.publish(event);
    await collector.until(() => eventIds(collector).length === 5);
    const lastSeen = collector.data.at(-1)?.id;

    // Drop the SSE connection on the server side; the old subscription ends with it.
    server.server.closeAllConnections();
    await Promise.all(subscriptions.map((subscription) => subscription.closed));
    await collector.until(() => collector.states.at(-1) === 'connecting');

    const missed = Array.from({ length: 50 }, () => makeCallEvent());
    for (const event of missed) await bus.publish(event);

    // httpSubscriptionLink's EventSource reconnects by itself, sending the last id it got.
    await collector.until(() => eventIds(collector).length === 55);
    const second = subscriptions.slice(2).find((s) => s.options.types !== undefined);
    expect(second?.options).toMatchObject({ after: lastSeen, types: ['call.*'] });
    const request = server.subscriptionRequests
      .slice(2)
      .find((r) => decodeURIComponent(r.url ?? '').includes('call.*'));
    expect(request?.headers['last-event-id']).toBe(lastSeen);

    // A live event after the replay proves nothing else (no duplicate) was in between.
    const live = makeCallEvent();
    await bus.publish(live);
    await collector.until(() => eventIds(collector).length >= 56);
    expect(eventIds(collector)).toEqual([...before, ...missed, live].map((e) => e.id));
    // The resume says it is attached (`resumed`, tracked with the id it resumed after), then replays.
    expect(collector.data.map((m) => m.data.type)).toEqual([
      'ready',
      ...Array(5).fill('event'),
      'resumed',
      ...Array(51).fill('event'),
    ]);
    expect(collector.data[6]?.id).toBe(lastSeen);
    const ids = collector.data.filter((m) => m.data.type !== 'resumed').map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);

    // The quiet client had no cursor to resume from (the observed bus has no position(), so
    // `ready`'s id is made up): it is told to reload, not left unaware.
    await quiet.until(() => quiet.data.length === 2);
    expect(quiet.data[1]).toEqual({
      id: callStreamStartId,
      data: { type: 'reset', reason: 'reconnected' },
    });
  });

  it('tells the client to reload (reset) when its cursor left history, then goes on live', async () => {
    const { bus, nth, subscribe } = await setup({
      bus: createMemoryBus({ history: { maxEvents: 10 } }),
    });
    const old = await bus.publish(makeCallEvent());
    for (let i = 0; i < 20; i += 1) await bus.publish(makeCallEvent());

    const { collector } = subscribe('token-a', { lastEventId: old.cursor });
    await (await nth(1)).subscription.ready;
    await collector.until(() => collector.data.length === 2);
    expect(collector.data).toEqual([
      { id: old.cursor, data: { type: 'resumed' } },
      { id: old.cursor, data: { type: 'reset', reason: 'history-gap' } },
    ]);

    const live = makeCallEvent();
    const { cursor } = await bus.publish(live);
    await collector.until(() => collector.data.length === 3);
    expect(collector.data[2]).toMatchObject({ id: cursor, data: { type: 'event' } });
    expect(eventIds(collector)).toEqual([live.id]);
  });

  it('tells the client to reload when its cursor is unknown (another stream)', async () => {
    const { nth, subscribe } = await setup();
    const { collector } = subscribe('token-a', { lastEventId: 'gone-epoch:42' });
    await (await nth(1)).subscription.ready;
    await collector.until(() => collector.data.length === 2);
    expect(collector.data.map((m) => m.data)).toEqual([
      { type: 'resumed' },
      { type: 'reset', reason: 'stream-reset' },
    ]);
  });

  it('refuses a lastEventId with control characters as BAD_REQUEST, never as an internal error', async () => {
    const { server } = await setup();
    const input = encodeURIComponent(JSON.stringify({ lastEventId: 'x:1\n\nevent: forged' }));
    const response = await fetch(`${server.url}/calltrack.onCallEvent?input=${input}`, {
      headers: { authorization: 'Bearer token-a', accept: 'text/event-stream' },
    });
    const body = await response.text();
    expect(body).toContain('"code":"BAD_REQUEST"');
    expect(body).not.toContain('INTERNAL_SERVER_ERROR');
    expect(body).not.toMatch(/^event: forged$/m);
  });

  it('refuses types that are no event type or prefix as BAD_REQUEST (as SSE and Socket.IO do), before subscribing', async () => {
    const { server, subscriptions } = await setup();
    // Each would match nothing: a typo must not look like a quiet stream.
    for (const types of [['call.ended '], ['Call.Ended'], ['*'], ['call.'], ['call.*.*']]) {
      const input = encodeURIComponent(JSON.stringify({ types }));
      const aborting = new AbortController();
      const response = await fetch(`${server.url}/calltrack.onCallEvent?input=${input}`, {
        headers: { authorization: 'Bearer token-a', accept: 'text/event-stream' },
        signal: aborting.signal,
      });
      // Read until the answer is an error or a stream (which would never end by itself).
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let body = '';
      while (!/BAD_REQUEST|"type":"ready"/.test(body)) {
        const { done, value } = await reader.read();
        if (done) break;
        body += decoder.decode(value, { stream: true });
      }
      aborting.abort();
      expect(body).toContain('"code":"BAD_REQUEST"');
    }
    expect(subscriptions).toEqual([]);
  });

  it('a lagging subscriber is cut off and the link reconnects and catches up from history', async () => {
    const { bus, nth, subscribe } = await setup({
      bus: createMemoryBus({ maxBufferedMessages: 5 }),
    });
    const { collector } = subscribe('token-a', undefined);
    const first = await nth(1);
    await collector.until(() => collector.data.length === 1); // ready
    // Published in one synchronous burst: the subscriber's buffer of 5 overflows.
    const events = Array.from({ length: 20 }, () => makeCallEvent());
    await Promise.all(events.map((event) => bus.publish(event)));
    await first.closed;
    const second = await nth(2);
    await collector.until(() => eventIds(collector).length === 20);
    // The first connection delivered what the bus had buffered (at most 5, plus one in flight);
    // the second resumed after the last of those, from history.
    const eventMessages = collector.data.slice(1);
    const resumedAt = eventMessages.findIndex((m) => m.id === second.options.after);
    expect(resumedAt).toBeGreaterThanOrEqual(4);
    expect(resumedAt).toBeLessThanOrEqual(5);
    expect(collector.states).toContain('connecting');
    expect(eventIds(collector)).toEqual(events.map((e) => e.id));
    expect(collector.errors).toEqual([]);
  });

  it('activeCalls returns the tenant’s active calls through httpBatchLink', async () => {
    const { tracker, clientFor } = await setup();
    await tracker.ingest(makeCallEvent({ callId: 'A1', branchId: 'north' }));
    await tracker.ingest(makeCallEvent({ callId: 'A2', branchId: 'south' }));
    await tracker.ingest(makeCallEvent({ tenantId: 'tenant-b', callId: 'B1', branchId: 'north' }));
    const client = clientFor('token-a');
    const forged = { tenantId: 'tenant-b' } as unknown as undefined;
    const [all, north, forgedTenant] = await Promise.all([
      client.calltrack.activeCalls.query(),
      client.calltrack.activeCalls.query({ branchId: 'north' }),
      client.calltrack.activeCalls.query(forged),
    ]);
    expect(all.map((call) => call.callId).sort()).toEqual(['A1', 'A2']);
    expect(north.map((call) => call.callId)).toEqual(['A1']);
    expect(forgedTenant.map((call) => call.tenantId)).toEqual(['tenant-a', 'tenant-a']);
    await expect(client.calltrack.activeCalls.query({ limit: 0 })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', httpStatus: 400 },
    });
  });

  it('activeCallsSnapshot says whether it lists every active call: complete false when the limit cut it', async () => {
    const { tracker, clientFor } = await setup();
    // Newest first is by start, then by call id: A3, A2, A1.
    for (const callId of ['A1', 'A2', 'A3']) {
      await tracker.ingest(makeCallEvent({ callId, branchId: 'north' }));
    }
    await tracker.ingest(makeCallEvent({ tenantId: 'tenant-b', callId: 'B1', branchId: 'north' }));
    const client = clientFor('token-a');
    const read = async (input?: { branchId?: string; limit?: number }, token = 'token-a') => {
      const { calls, complete } = await clientFor(token).calltrack.activeCallsSnapshot.query(input);
      return { callIds: calls.map((call) => call.callId), complete };
    };
    expect(await read({ limit: 2 })).toEqual({ callIds: ['A3', 'A2'], complete: false });
    expect(await read({ limit: 3 })).toEqual({ callIds: ['A3', 'A2', 'A1'], complete: true });
    expect(await read()).toEqual({ callIds: ['A3', 'A2', 'A1'], complete: true });
    // The largest limit: the tracker is never asked for more than it serves.
    expect(await read({ limit: 10_000 })).toEqual({ callIds: ['A3', 'A2', 'A1'], complete: true });
    // A tenant's branch is the tracker's own filter, before the limit.
    expect(await read({ branchId: 'south', limit: 1 })).toEqual({ callIds: [], complete: true });
    // An all-tenants branch filters after the limit: a cut list stays cut, however short.
    const cut = await read({ branchId: 'north', limit: 3 }, 'token-admin');
    expect(cut.complete).toBe(false);
    expect(cut.callIds.length).toBeLessThanOrEqual(3);
    const whole = await read({ branchId: 'north', limit: 4 }, 'token-admin');
    expect(whole.complete).toBe(true);
    expect([...whole.callIds].sort()).toEqual(['A1', 'A2', 'A3', 'B1']);
    // `activeCalls` answers the same calls as before: the plain list.
    const plain = await client.calltrack.activeCalls.query({ limit: 2 });
    expect(plain.map((call) => call.callId)).toEqual(['A3', 'A2']);
    await expect(client.calltrack.activeCallsSnapshot.query({ limit: 0 })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', httpStatus: 400 },
    });
  });

  it('activeCalls and activeCallsSnapshot list at most 1,000 calls by default, and take a limit of 1 to 10,000', async () => {
    const { tracker, clientFor } = await setup();
    for (let index = 0; index < 1001; index += 1) {
      await tracker.ingest(makeCallEvent({ callId: `A${index}` }));
    }
    const client = clientFor('token-a');
    expect(await client.calltrack.activeCalls.query()).toHaveLength(1000);
    const snapshot = await client.calltrack.activeCallsSnapshot.query();
    expect(snapshot.calls).toHaveLength(1000);
    expect(snapshot.complete).toBe(false);
    const whole = await client.calltrack.activeCallsSnapshot.query({ limit: 10_000 });
    expect(whole).toMatchObject({ complete: true });
    expect(whole.calls).toHaveLength(1001);
    for (const query of [client.calltrack.activeCalls, client.calltrack.activeCallsSnapshot]) {
      await expect(query.query({ limit: 10_001 })).rejects.toMatchObject({
        data: { code: 'BAD_REQUEST', httpStatus: 400 },
      });
    }
  });

  it('refuses calls without credentials: UNAUTHORIZED, and no bus subscription', async () => {
    const { clientFor, subscriptions, subscribe } = await setup();
    const query = clientFor('wrong-token').calltrack.activeCalls.query();
    await expect(query).rejects.toBeInstanceOf(TRPCClientError);
    await expect(query).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });

    const { collector } = subscribe(undefined, undefined);
    await collector.until(() => collector.errors.length === 1);
    expect(collector.errors[0]).toBeInstanceOf(TRPCClientError);
    expect(collector.errors[0]).toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    expect(subscriptions).toHaveLength(0);
  });

  it('unsubscribing ends the server generator and its bus subscription', async () => {
    const { bus, nth, subscribe } = await setup();
    const { collector, subscription } = subscribe('token-a', undefined);
    const observed = await nth(1);
    await collector.until(() => collector.data.length === 1); // ready
    await bus.publish(makeCallEvent());
    await collector.until(() => collector.data.length === 2);

    subscription.unsubscribe();
    await observed.closed; // the generator's finally ran
    expect(observed.options.signal?.aborted).toBe(true);
    expect(await observed.subscription.next()).toEqual({ done: true, value: undefined });
  });

  it('skips an event it cannot serialize, reports it once, and keeps delivering: no reconnect loop', async () => {
    const poisoned = poisonBus(createMemoryBus());
    const { bus, server, subscribe } = await setup({ bus: poisoned.bus });
    const first = subscribe('token-a', undefined);
    const second = subscribe('token-a', { types: ['call.*'] });
    await first.collector.until(() => first.collector.data.length === 1);
    await second.collector.until(() => second.collector.data.length === 1);
    const good: string[] = [];
    const bad: { id: string; cursor: string }[] = [];
    for (const kind of ['deep', 'toJSON', 'getter'] as const) {
      const fine = makeCallEvent();
      good.push(fine.id);
      await bus.publish(fine);
      const poison = makeCallEvent();
      poisoned.poison(poison.id, kind);
      bad.push({ id: poison.id, cursor: (await bus.publish(poison)).cursor });
    }
    const last = makeCallEvent();
    good.push(last.id);
    await bus.publish(last);
    for (const { collector } of [first, second]) {
      await collector.until(() => eventIds(collector).includes(last.id));
      expect(eventIds(collector)).toEqual(good);
      expect(
        collector.data.filter((m) => m.data.type === 'reset').map((m) => [m.id, m.data]),
      ).toEqual(bad.map(({ cursor }) => [cursor, { type: 'reset', reason: 'event-skipped' }]));
      expect(collector.errors).toEqual([]);
    }
    expect(server.subscriptionRequests).toHaveLength(2);
    // Once per event, however many subscribers skipped it.
    expect(reported.map(({ info }) => info.skipped)).toEqual(
      bad.map(({ id, cursor }) => ({
        cursor,
        eventId: id,
        type: 'call.ringing',
        tenantId: 'tenant-a',
      })),
    );
    expect(reported[0]?.error).toBeInstanceOf(RangeError);
    expect(reported[0]?.info.principal).toMatchObject({ tenantId: 'tenant-a' });
  });

  it('a resume starts after a skipped event, never on it again', async () => {
    const poisoned = poisonBus(createMemoryBus());
    const { bus, server, subscriptions, subscribe } = await setup({ bus: poisoned.bus });
    const { collector } = subscribe('token-a', undefined);
    await collector.until(() => collector.data.length === 1);
    await bus.publish(makeCallEvent());
    const poison = makeCallEvent();
    poisoned.poison(poison.id, 'toJSON');
    const { cursor } = await bus.publish(poison);
    await collector.until(() => collector.data.length === 3);
    expect(collector.data[2]).toMatchObject({ id: cursor, data: { reason: 'event-skipped' } });

    server.server.closeAllConnections();
    await Promise.all(subscriptions.map((subscription) => subscription.closed));
    const after = makeCallEvent();
    await bus.publish(after);
    await collector.until(() => eventIds(collector).includes(after.id));
    expect(server.subscriptionRequests[1]?.headers['last-event-id']).toBe(cursor);
    expect(collector.data.map((m) => m.data.type)).toEqual([
      'ready',
      'event',
      'reset',
      'resumed',
      'event',
    ]);
    expect(collector.data[3]?.id).toBe(cursor);
    expect(reported).toHaveLength(1);
  });

  it('starts every subscription answer with a retry: of at most 1 s (withNodeSseRetry)', async () => {
    const { server, clientFor } = await setup();
    const url = `${server.url}/calltrack.onCallEvent`;
    const controller = new AbortController();
    const response = await fetch(url, {
      headers: { authorization: 'Bearer token-a' },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: connected')) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    const retry = /^retry: (\d+)\n\n/.exec(text);
    expect(Number(retry?.[1])).toBeGreaterThanOrEqual(500);
    expect(Number(retry?.[1])).toBeLessThanOrEqual(1000);
    controller.abort();
    // Other answers are left alone.
    expect(await clientFor('token-a').calltrack.activeCalls.query()).toEqual([]);

    const bare = await startTestServer(makeAppRouter(createMemoryBus()), { retry: false });
    cleanups.push(() => bare.close());
    const bareController = new AbortController();
    const bareResponse = await fetch(`${bare.url}/calltrack.onCallEvent`, {
      headers: { authorization: 'Bearer token-a' },
      signal: bareController.signal,
    });
    const first = await (bareResponse.body as ReadableStream<Uint8Array>).getReader().read();
    // tRPC on its own sends no retry: (browsers then wait about 3 s before reconnecting).
    expect(new TextDecoder().decode(first.value)).toMatch(/^event: connected/);
    bareController.abort();
  });

  it('an unauthenticated subscription: UNAUTHORIZED (401 in its data) without a stack trace, and no retry', async () => {
    const { server, clientFor, subscribe, subscriptions } = await setup();
    // Over SSE, tRPC answers 200 and puts the error into the stream.
    const response = await fetch(`${server.url}/calltrack.onCallEvent`);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('event: serialized-error');
    expect(body).toContain('"code":"UNAUTHORIZED"');
    expect(body).not.toContain('"stack"');

    const requestsBefore = server.subscriptionRequests.length;
    const { collector } = subscribe(undefined, undefined);
    await collector.until(() => collector.errors.length === 1);
    expect(collector.errors[0]).toBeInstanceOf(TRPCClientError);
    expect(collector.errors[0]).toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    expect((collector.errors[0] as TRPCClientError<AppRouter>).data?.stack).toBeUndefined();
    const query = clientFor(undefined).calltrack.activeCalls.query();
    await expect(query).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    expect(
      ((await query.catch((error: unknown) => error)) as TRPCClientError<AppRouter>).data?.stack,
    ).toBeUndefined();
    // A later, authenticated subscription is the only other request: the refused one never retried.
    const { collector: later } = subscribe('token-a', undefined);
    await later.until(() => later.data.length === 1);
    expect(server.subscriptionRequests).toHaveLength(requestsBefore + 2);
    expect(subscriptions).toHaveLength(1);
  });

  it('a real HTTP 401 where tRPC allows it: a Node adapter keeps a status set in createContext', async () => {
    const bus = createMemoryBus();
    cleanups.push(() => bus.close());
    const server = await startTestServer(makeAppRouter(bus), {
      createContext(options) {
        const context = createContext(options);
        if (options.info.type === 'subscription' && context.principal === undefined) {
          options.res.statusCode = 401;
        }
        return context;
      },
    });
    cleanups.push(() => server.close());
    const response = await fetch(`${server.url}/calltrack.onCallEvent`);
    expect(response.status).toBe(401);
    const body = await response.text();
    expect(body).toContain('"code":"UNAUTHORIZED"');
    expect(body).not.toContain('"stack"');

    const collector = collectSubscription<Received>();
    const subscription = createTestClient<AppRouter>(server.url).calltrack.onCallEvent.subscribe(
      undefined,
      collector.callbacks,
    );
    cleanups.push(() => subscription.unsubscribe());
    // A non-200 answer fails the EventSource for good: the subscription ends with an error
    // (without tRPC's error code, which the client cannot read from a failed EventSource).
    await collector.until(() => collector.errors.length === 1);
    expect(collector.errors[0]).toBeInstanceOf(TRPCClientError);
    // The raw request above and the client's one: never retried.
    const later = collectSubscription<Received>();
    const laterSubscription = createTestClient<AppRouter>(
      server.url,
      'token-a',
    ).calltrack.onCallEvent.subscribe(undefined, later.callbacks);
    cleanups.push(() => laterSubscription.unsubscribe());
    await later.until(() => later.data.length === 1);
    expect(server.subscriptionRequests).toHaveLength(3);
  });

  it('gives an all-tenants principal every tenant’s events and calls, and no one else', async () => {
    const { bus, server, tracker, clientFor, subscribe, subscriptions } = await setup();
    await tracker.ingest(makeCallEvent({ callId: 'A1' }));
    await tracker.ingest(makeCallEvent({ callId: 'B1', tenantId: 'tenant-b' }));
    const admin = subscribe('token-admin', undefined);
    const forged = { tenantId: 'tenant-b', allTenants: true } as unknown as undefined;
    const agent = subscribe('token-a', forged);
    await admin.collector.until(() => admin.collector.data.length === 1);
    await agent.collector.until(() => agent.collector.data.length === 1);
    const events = [
      makeCallEvent({ tenantId: 'tenant-b' }),
      makeCallEvent(),
      makeCallEvent({ tenantId: 'tenant-c' }),
    ];
    for (const event of events) await bus.publish(event);
    await admin.collector.until(() => eventIds(admin.collector).length === 3);
    await agent.collector.until(() => eventIds(agent.collector).length === 1);
    // One event per tenant: the bus keeps order per tenant only, so any order across them.
    expect([...eventIds(admin.collector)].sort()).toEqual(events.map((event) => event.id).sort());
    expect(eventIds(agent.collector)).toEqual([events[1]!.id]);
    expect(subscriptions.map((s) => s.options.allTenants === true)).toEqual([true, false]);
    const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId).sort();
    expect(ids(await clientFor('token-admin').calltrack.activeCalls.query())).toEqual(['A1', 'B1']);
    expect(ids(await clientFor('token-a').calltrack.activeCalls.query(forged))).toEqual(['A1']);

    // No cross-tenant cursor to resume from: a reconnecting all-tenants subscriber reloads.
    server.server.closeAllConnections();
    await admin.collector.until(() => admin.collector.data.length === 5);
    expect(admin.collector.data[4]).toEqual({
      id: admin.collector.data[3]?.id,
      data: { type: 'reset', reason: 'reconnected' },
    });
    await bus.publish(makeCallEvent({ tenantId: 'tenant-b' }));
    await admin.collector.until(() => eventIds(admin.collector).length === 4);
  });

  it('a dropped subscription reconnects after the retry: sent (at most 1 s), not the browser default', async () => {
    const { bus, server, subscriptions, subscribe } = await setup();
    const { collector } = subscribe('token-a', undefined);
    await collector.until(() => collector.data.length === 1);
    // Which delays timers get while the client reconnects: its EventSource schedules the
    // reconnect with the `retry:` it received (the `eventsource` package's default is 3 s).
    const delays: number[] = [];
    const spy = vi.spyOn(globalThis, 'setTimeout');
    spy.mockImplementation(((callback: () => void, delay?: number, ...args: unknown[]) => {
      delays.push(delay ?? 0);
      return realSetTimeout(callback, delay, ...args);
    }) as typeof setTimeout);
    try {
      server.server.closeAllConnections();
      await Promise.all(subscriptions.map((subscription) => subscription.closed));
      await collector.until(() => server.subscriptionRequests.length === 2);
    } finally {
      spy.mockRestore();
    }
    expect(delays.some((delay) => delay >= 500 && delay <= 1000)).toBe(true);
    expect(delays).not.toContain(3000);
    const live = makeCallEvent();
    await bus.publish(live);
    await collector.until(() => eventIds(collector).includes(live.id));
  });
});
