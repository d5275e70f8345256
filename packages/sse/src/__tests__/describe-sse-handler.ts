import { createServer, type RequestListener, request } from 'node:http';
import { connect } from 'node:net';
import {
  type BusSubscribeOptions,
  type BusSubscription,
  createMemoryBus,
  type EventBus,
  type MemoryBusOptions,
} from '@calltrack/bus';
import { CallTrackError, type Principal } from '@calltrack/core';
import {
  callEvents,
  makeCallEvent,
  openEventSource,
  poisonBus,
  serveForTest,
  stopTestServers,
  testEventClock,
} from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  SseCloseInfo,
  SseErrorInfo,
  SseHandlerOptions,
  SseSnapshotSource,
  SseStreamInfo,
} from '../sse-handler-options';
import { deferred, SseReader } from './read-sse';

/** Turns handler options into a `node:http` listener (fetch handler + bridge, or Node handler). */
export type MakeSseListener = (options: SseHandlerOptions) => RequestListener;

/**
 * `Authorization: Bearer <tenant>:<user>`; the tenant `*` is a super-admin of tenant-a who sees
 * every tenant (`allTenants`). Anything else is anonymous.
 */
export function bearer(request: Request): Principal | null {
  const match = /^Bearer ([^:\s]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
  if (!match) return null;
  if (match[1] === '*') return { tenantId: 'tenant-a', userId: match[2]!, allTenants: true };
  return { tenantId: match[1]!, userId: match[2]! };
}

/** A handler on a real server, with a bus whose subscriptions the test can inspect. */
export async function startSse(
  makeListener: MakeSseListener,
  overrides: Partial<SseHandlerOptions> & {
    busOptions?: MemoryBusOptions;
    realBus?: EventBus;
  } = {},
) {
  const { busOptions, realBus, ...options } = overrides;
  const bus = realBus ?? createMemoryBus(busOptions);
  const subscriptions: BusSubscription[] = [];
  const subscribeOptions: BusSubscribeOptions[] = [];
  const opened: SseStreamInfo[] = [];
  const closed: SseCloseInfo[] = [];
  const errors: unknown[] = [];
  const errorInfos: SseErrorInfo[] = [];
  const checks = new Set<() => void>();
  const notify = (): void => {
    for (const check of checks) check();
  };
  const server = await serveForTest(
    createServer(
      makeListener({
        bus: {
          subscribe(options) {
            const subscription = bus.subscribe(options);
            subscriptions.push(subscription);
            subscribeOptions.push(options);
            return subscription;
          },
        },
        authenticate: bearer,
        retryMs: 10,
        onOpen: (info) => {
          opened.push(info);
          notify();
        },
        onClose: (info) => {
          closed.push(info);
          notify();
        },
        onError: (error, info) => {
          errors.push(error);
          errorInfos.push(info);
        },
        ...options,
      }),
    ),
  );
  const until = (predicate: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (predicate()) {
          checks.delete(check);
          resolve();
        }
      };
      checks.add(check);
      check();
    });
  return {
    bus,
    server,
    url: `${server.url}/events`,
    subscriptions,
    subscribeOptions,
    opened,
    closed,
    errors,
    errorInfos,
    untilOpened: (count: number) => until(() => opened.length >= count),
    untilClosed: (count: number) => until(() => closed.length >= count),
  };
}

/** Opens a stream with `fetch` and reads it frame by frame. */
export async function openRaw(
  url: string,
  token: string | undefined,
  headers: Record<string, string> = {},
) {
  const controller = new AbortController();
  const response = await fetch(url, {
    signal: controller.signal,
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  const reader = response.body ? new SseReader(response.body) : undefined;
  return {
    response,
    reader: reader as SseReader,
    close: async () => {
      controller.abort();
      await reader?.cancel();
    },
  };
}

/** Opens a stream, reads its first frame (a snapshot) and closes it: its call ids, `complete`. */
async function firstSnapshot(url: string, token: string) {
  const source = openEventSource(url, token);
  const [first] = await source.until((events) => events.length >= 1);
  source.close();
  expect(first?.type).toBe('snapshot');
  const data = first?.data as { calls: { callId: string }[]; complete: unknown };
  return { callIds: data.calls.map((call) => call.callId), complete: data.complete };
}

/**
 * The behaviour every SSE listener of this package must have, run against a real `node:http`
 * server with the real `eventsource` client and raw `fetch`.
 */
export function describeSseHandler(name: string, makeListener: MakeSseListener): void {
  describe(`${name}: SSE stream`, () => {
    afterEach(stopTestServers);

    it('answers with the SSE headers, a jittered retry first, then id/event/data frames', async () => {
      const sse = await startSse(makeListener, { retryMs: 1000 });
      const { response, reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(response.headers.get('x-accel-buffering')).toBe('no');
      expect(response.headers.get('connection')).toBe('keep-alive');
      const first = await reader.next();
      // Within a second, at least half of it: clients of a restarted server spread out.
      expect(first?.retry).toBeGreaterThanOrEqual(500);
      expect(first?.retry).toBeLessThanOrEqual(1000);
      await sse.untilOpened(1);
      expect(sse.opened[0]).toMatchObject({ principal: { tenantId: 'tenant-a', userId: 'u1' } });

      const event = makeCallEvent({ data: { note: 'line one\nline two\r\nthree' } });
      const { cursor } = await sse.bus.publish(event);
      const [frame] = await reader.events(1);
      expect(frame).toMatchObject({ id: cursor, event: 'call' });
      expect(JSON.parse(frame!.data!)).toEqual(event);
      expect(frame!.data).not.toMatch(/[\r\n]/);
      await close();
    });

    it('answers HEAD as it would refuse the stream (401, 400), else 200 with no stream: a browser learns why its EventSource was refused', async () => {
      const sse = await startSse(makeListener, {
        authenticate: (request) => {
          if (request.headers.get('authorization') === 'Bearer banned:u1') {
            throw new CallTrackError({ message: 'Banned.', code: 'forbidden', status: 403 });
          }
          return bearer(request);
        },
      });
      const anonymous = await fetch(sse.url, { method: 'HEAD' });
      expect(anonymous.status).toBe(401);
      const banned = await fetch(sse.url, {
        method: 'HEAD',
        headers: { authorization: 'Bearer banned:u1' },
      });
      expect(banned.status).toBe(403);
      const malformed = await fetch(`${sse.url}?tenantId=tenant-b`, {
        method: 'HEAD',
        headers: { authorization: 'Bearer tenant-a:u1' },
      });
      expect(malformed.status).toBe(400);
      const allowed = await fetch(sse.url, {
        method: 'HEAD',
        headers: { authorization: 'Bearer tenant-a:u1' },
      });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('content-type')).toBe('text/event-stream');
      // No stream was opened: no bus subscription, no onOpen.
      expect(sse.opened).toEqual([]);
      expect(sse.subscriptions).toEqual([]);
    });

    it('answers 401 without credentials, 405 for another method, 400 for a malformed query', async () => {
      const sse = await startSse(makeListener);
      const anonymous = await fetch(sse.url);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: { code: 'unauthorized' } });

      const post = await fetch(sse.url, {
        method: 'POST',
        headers: { authorization: 'Bearer tenant-a:u1' },
      });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      expect(await post.json()).toMatchObject({ error: { code: 'method_not_allowed' } });

      for (const query of [
        'tenantId=tenant-b',
        'callId=',
        'types=call.ended,nonsense',
        'type=CALL.ENDED',
        'lastEventId=a&lastEventId=b',
        'branchId=a&branchId=b',
        `callId=${'x'.repeat(300)}`,
        Array.from({ length: 101 }, (_, index) => `callId=c${index}`).join('&'),
      ]) {
        const response = await fetch(`${sse.url}?${query}`, {
          headers: { authorization: 'Bearer tenant-a:u1' },
        });
        expect(response.status, query).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: 'invalid_argument' } });
      }
      const badHeader = await fetch(sse.url, {
        headers: { authorization: 'Bearer tenant-a:u1', 'last-event-id': `${'9'.repeat(300)}` },
      });
      expect(badHeader.status).toBe(400);
      await badHeader.body?.cancel();
      expect(sse.subscriptions).toHaveLength(0);
      expect(sse.errors).toEqual([]);
    });

    it('answers 400 to a repeated Last-Event-ID header, as to a repeated lastEventId', async () => {
      const sse = await startSse(makeListener);
      const { cursor } = await sse.bus.publish(makeCallEvent());
      const { port } = new URL(sse.url);
      for (const values of [
        [cursor, cursor],
        ['c1', 'c2'],
      ]) {
        const { status, body } = await new Promise<{ status?: number; body: string }>(
          (resolve, reject) => {
            // Two header lines: Node joins them into one value ("c1, c2").
            const sent = request(
              {
                port,
                host: '127.0.0.1',
                path: '/events',
                headers: { authorization: 'Bearer tenant-a:u1', 'last-event-id': values },
              },
              (response) => {
                let text = '';
                if (response.statusCode !== 400) {
                  // A stream: it would never end.
                  response.destroy();
                  resolve({ status: response.statusCode, body: '{}' });
                  return;
                }
                response.setEncoding('utf8');
                response.on('data', (chunk: string) => {
                  text += chunk;
                });
                response.on('end', () => resolve({ status: response.statusCode, body: text }));
              },
            );
            sent.on('error', reject);
            sent.end();
          },
        );
        expect(status, values.join(', ')).toBe(400);
        expect(JSON.parse(body)).toMatchObject({ error: { code: 'invalid_argument' } });
      }
      expect(sse.subscriptions).toHaveLength(0);
    });

    it('answers 500 without details when authenticate fails unexpectedly', async () => {
      const sse = await startSse(makeListener, {
        authenticate: () => {
          throw new Error('session store down');
        },
      });
      const response = await fetch(sse.url);
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('session store');
      expect(sse.errors).toHaveLength(1);
    });

    it('never gives a client of tenant A an event of tenant B, whatever it sends', async () => {
      const sse = await startSse(makeListener);
      const forged = openEventSource(`${sse.url}?tenantId=tenant-b`, 'tenant-a:u1');
      expect((await forged.failed()).code).toBe(400);

      const { cursor: bCursor } = await sse.bus.publish(
        makeCallEvent({ tenantId: 'tenant-b', callId: 'CA-shared' }),
      );
      const a = openEventSource(sse.url, 'tenant-a:u1');
      const aFiltered = openEventSource(
        `${sse.url}?callId=CA-shared&lastEventId=${encodeURIComponent(bCursor)}`,
        'tenant-a:u2',
      );
      const b = openEventSource(sse.url, 'tenant-b:u3');
      await sse.untilOpened(3);

      const published = { a: [] as string[], b: [] as string[] };
      for (let index = 0; index < 20; index += 1) {
        const tenant = index % 2 === 0 ? 'a' : 'b';
        const event = makeCallEvent({
          tenantId: `tenant-${tenant}`,
          ...(index % 4 < 2 ? { callId: 'CA-shared' } : {}),
        });
        await sse.bus.publish(event);
        published[tenant].push(event.id);
      }
      const last = (ids: string[]) => (events: { data: { id?: string } }[]) =>
        events.some((event) => event.data.id === ids.at(-1));
      await a.until(last(published.a));
      await b.until(last(published.b));
      await aFiltered.until(last(published.a.filter((_, index) => index % 2 === 0)));

      expect(callEvents(a.received).map((event) => event.data.id)).toEqual(published.a);
      expect(callEvents(b.received).map((event) => event.data.id)).toEqual(published.b);
      const filtered = callEvents(aFiltered.received);
      expect(filtered.every((event) => event.data.tenantId === 'tenant-a')).toBe(true);
      expect(filtered.map((event) => event.data.id)).toEqual(
        published.a.filter((_, index) => index % 2 === 0),
      );
      for (const client of [a, b, aFiltered, forged]) client.close();
    });

    it('replays exactly the 50 events missed during a disconnect, in order, via Last-Event-ID', async () => {
      let connects = 0;
      const reconnected = deferred<string | null>();
      const gate = deferred();
      const sse = await startSse(makeListener, {
        authenticate: async (request) => {
          connects += 1;
          if (connects === 2) {
            reconnected.resolve(request.headers.get('last-event-id'));
            await gate.promise;
          }
          return bearer(request);
        },
      });
      const client = openEventSource(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      const before: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        before.push((await sse.bus.publish(makeCallEvent())).cursor);
        await sse.bus.publish(makeCallEvent({ tenantId: 'tenant-b' }));
      }
      await client.until((events) => events.length === 5);

      sse.server.dropConnections();
      expect(await reconnected.promise).toBe(before.at(-1));
      const missed: string[] = [];
      for (let index = 0; index < 50; index += 1) {
        const event = makeCallEvent();
        await sse.bus.publish(event);
        await sse.bus.publish(makeCallEvent({ tenantId: 'tenant-b' }));
        missed.push(event.id);
      }
      gate.resolve();
      await sse.untilOpened(2);
      const sentinel = makeCallEvent();
      await sse.bus.publish(sentinel);
      await client.until((events) => events.some((event) => event.data.id === sentinel.id));

      expect(client.received.every((event) => event.type === 'call')).toBe(true);
      expect(client.received.slice(5).map((event) => event.data.id)).toEqual([
        ...missed,
        sentinel.id,
      ]);
      expect(sse.closed[0]?.reason).toBe('client-closed');
      client.close();
    });

    it('resumes after the lastEventId query parameter; the header wins over it', async () => {
      const sse = await startSse(makeListener);
      const first = await openRaw(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      const cursors: string[] = [];
      for (let index = 0; index < 3; index += 1) {
        cursors.push((await sse.bus.publish(makeCallEvent())).cursor);
      }
      const seen = await first.reader.events(3);
      expect(seen.map((frame) => frame.id)).toEqual(cursors);
      await first.close();
      const missed: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        missed.push((await sse.bus.publish(makeCallEvent())).cursor);
      }

      const byQuery = await openRaw(
        `${sse.url}?lastEventId=${encodeURIComponent(cursors[2]!)}`,
        'tenant-a:u1',
      );
      expect((await byQuery.reader.events(5)).map((frame) => frame.id)).toEqual(missed);
      await byQuery.close();

      const both = await openRaw(
        `${sse.url}?lastEventId=${encodeURIComponent(cursors[0]!)}`,
        'tenant-a:u1',
        { 'last-event-id': missed[3]! },
      );
      expect((await both.reader.events(1)).map((frame) => frame.id)).toEqual([missed[4]]);
      await both.close();
    });

    it('tells the client to reload (reset) when the cursor is unknown', async () => {
      const sse = await startSse(makeListener);
      const client = openEventSource(`${sse.url}?lastEventId=not-a-cursor`, 'tenant-a:u1');
      await sse.untilOpened(1);
      const live = makeCallEvent();
      await sse.bus.publish(live);
      await client.until((events) => events.length === 2);
      expect(client.received[0]).toMatchObject({
        type: 'reset',
        data: { reason: 'stream-reset' },
      });
      expect(client.received[1]).toMatchObject({ type: 'call', data: { id: live.id } });
      client.close();
    });

    it('resets, then sends a fresh snapshot, when the missed events left history', async () => {
      const bus = createMemoryBus({ history: { maxEvents: 5 } });
      const tracker = createCallTracker({ bus, clock: testEventClock() });
      const sse = await startSse(makeListener, { realBus: bus, tracker });
      await tracker.ingest(makeCallEvent({ callId: 'CA-old' }));
      const first = await openRaw(sse.url, 'tenant-a:u1');
      const [snapshot] = await first.reader.events(1);
      expect(snapshot?.event).toBe('snapshot');
      expect(
        JSON.parse(snapshot!.data!).calls.map((call: { callId: string }) => call.callId),
      ).toEqual(['CA-old']);
      await tracker.ingest(makeCallEvent({ callId: 'CA-1' }));
      const [seen] = await first.reader.events(1);
      await first.close();
      for (let index = 2; index <= 11; index += 1) {
        await tracker.ingest(makeCallEvent({ callId: `CA-${index}` }));
      }

      const resumed = await openRaw(sse.url, 'tenant-a:u1', { 'last-event-id': seen!.id! });
      const [reset, fresh] = await resumed.reader.events(2);
      expect(reset).toMatchObject({ event: 'reset', data: '{"reason":"history-gap"}' });
      expect(reset?.id).toBeUndefined();
      expect(fresh?.event).toBe('snapshot');
      expect(JSON.parse(fresh!.data!).calls).toHaveLength(12);
      await tracker.ingest(makeCallEvent({ callId: 'CA-12' }));
      const [live] = await resumed.reader.events(1);
      expect(live).toMatchObject({ event: 'call' });
      expect(JSON.parse(live!.data!).callId).toBe('CA-12');
      await resumed.close();
    });

    it('sends the active calls first (snapshot), then live events, with a tracker', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock() });
      const sse = await startSse(makeListener, { realBus: bus, tracker });
      await tracker.ingest(makeCallEvent({ callId: 'CA-1', branchId: 'branch-1' }));
      await tracker.ingest(makeCallEvent({ callId: 'CA-2', branchId: 'branch-2' }));
      await tracker.ingest(makeCallEvent({ callId: 'CA-3', tenantId: 'tenant-b' }));

      const client = openEventSource(sse.url, 'tenant-a:u1');
      const branch = openEventSource(`${sse.url}?branchId=branch-1`, 'tenant-a:u2');
      const oneCall = openEventSource(`${sse.url}?callId=CA-2&callId=CA-9`, 'tenant-a:u3');
      await client.until((events) => events.length === 1);
      await branch.until((events) => events.length === 1);
      await oneCall.until((events) => events.length === 1);
      const ids = (event: { data: { calls: { callId: string }[] } }) =>
        event.data.calls.map((call) => call.callId).sort();
      expect(client.received[0]?.type).toBe('snapshot');
      expect(ids(client.received[0]!)).toEqual(['CA-1', 'CA-2']);
      expect(ids(branch.received[0]!)).toEqual(['CA-1']);
      expect(ids(oneCall.received[0]!)).toEqual(['CA-2']);

      await tracker.ingest(
        makeCallEvent({
          callId: 'CA-2',
          branchId: 'branch-2',
          type: 'call.answered',
          status: 'in-progress',
        }),
      );
      await tracker.ingest(
        makeCallEvent({
          callId: 'CA-1',
          branchId: 'branch-1',
          type: 'call.answered',
          status: 'in-progress',
        }),
      );
      await client.until((events) => events.length === 3);
      await branch.until((events) => events.length === 2);
      await oneCall.until((events) => events.length === 2);
      expect(client.received[1]).toMatchObject({
        type: 'call',
        data: { callId: 'CA-2', data: { call: { status: 'in-progress' } } },
      });
      expect(branch.received[1]).toMatchObject({ data: { callId: 'CA-1' } });
      expect(oneCall.received[1]).toMatchObject({ data: { callId: 'CA-2' } });
      for (const source of [client, branch, oneCall]) source.close();
    });

    it('says whether a snapshot lists every active call: complete false when cut at snapshotLimit, even when a filter after the cut leaves fewer', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock(), logger: {} });
      // A tracker of its own without getCall: every snapshot is read from the list.
      const listsOnly: SseSnapshotSource = {
        listActiveCalls: (tenantId, options) => tracker.listActiveCalls(tenantId, options),
        listActiveCallsAcrossTenants: (options) => tracker.listActiveCallsAcrossTenants(options),
      };
      const sse = await startSse(makeListener, {
        realBus: bus,
        tracker: listsOnly,
        snapshotLimit: 2,
      });
      // Newest first is by start, then by call id: the limit keeps CA-3 and CA-2 of tenant-a.
      for (const callId of ['CA-1', 'CA-2', 'CA-3']) {
        await tracker.ingest(makeCallEvent({ callId, branchId: 'north' }));
      }
      for (const callId of ['CB-1', 'CB-2']) {
        await tracker.ingest(makeCallEvent({ callId, tenantId: 'tenant-b', branchId: 'north' }));
      }
      await tracker.ingest(makeCallEvent({ callId: 'CC-1', tenantId: 'tenant-c' }));

      const snapshotOf = (query: string, token: string) => firstSnapshot(sse.url + query, token);
      expect(await snapshotOf('', 'tenant-a:u1')).toEqual({
        callIds: ['CA-3', 'CA-2'],
        complete: false,
      });
      // Without getCall, `callId` filters after the limit: CA-1 fell to the cut, so the empty
      // list is not all.
      expect(await snapshotOf('?callId=CA-1', 'tenant-a:u2')).toEqual({
        callIds: [],
        complete: false,
      });
      expect(await snapshotOf('?callId=CA-3', 'tenant-a:u3')).toEqual({
        callIds: ['CA-3'],
        complete: false,
      });
      // A tenant's `branchId` is the tracker's own filter, before the limit: nothing is cut.
      expect(await snapshotOf('?branchId=south', 'tenant-a:u4')).toEqual({
        callIds: [],
        complete: true,
      });
      // Exactly the limit's worth of calls, and fewer: every one of them is there.
      expect(await snapshotOf('', 'tenant-b:u1')).toEqual({
        callIds: ['CB-2', 'CB-1'],
        complete: true,
      });
      expect(await snapshotOf('', 'tenant-c:u1')).toEqual({ callIds: ['CC-1'], complete: true });
      expect(await snapshotOf('', 'tenant-d:u1')).toEqual({ callIds: [], complete: true });
      // An all-tenants `branchId` filters after the limit too: 2 of 6 calls were read.
      const acrossTenants = await snapshotOf('?branchId=north', '*:root');
      expect(acrossTenants.complete).toBe(false);
      expect(acrossTenants.callIds.length).toBeLessThanOrEqual(2);
    });

    it('a tenant stream that follows calls reads them with getCall: its snapshot lists exactly those that are active, complete, however many calls the tenant has', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock(), logger: {} });
      const asked: string[] = [];
      let lists = 0;
      let reading = 0;
      let mostAtOnce = 0;
      const counted: SseSnapshotSource = {
        listActiveCalls: (tenantId, options) => {
          lists += 1;
          return tracker.listActiveCalls(tenantId, options);
        },
        listActiveCallsAcrossTenants: (options) => {
          lists += 1;
          return tracker.listActiveCallsAcrossTenants(options);
        },
        async getCall(tenantId, callId) {
          asked.push(callId);
          reading += 1;
          mostAtOnce = Math.max(mostAtOnce, reading);
          try {
            return await tracker.getCall(tenantId, callId);
          } finally {
            reading -= 1;
          }
        },
      };
      const sse = await startSse(makeListener, {
        realBus: bus,
        tracker: counted,
        snapshotLimit: 2,
        maxFollowedCalls: 250,
      });
      // Newest first is by start, then by call id: the newest two are CA-4 and CA-3.
      for (const callId of ['CA-1', 'CA-2', 'CA-3']) {
        await tracker.ingest(makeCallEvent({ callId, branchId: 'north' }));
      }
      await tracker.ingest(makeCallEvent({ callId: 'CA-4', branchId: 'south' }));
      await tracker.ingest(makeCallEvent({ callId: 'CA-ended' }));
      await tracker.ingest(
        makeCallEvent({ callId: 'CA-ended', type: 'call.ended', status: 'completed' }),
      );
      await tracker.ingest(makeCallEvent({ callId: 'CB-1', tenantId: 'tenant-b' }));
      const snapshotOf = (query: string, token: string) => firstSnapshot(sse.url + query, token);

      // CA-1 is past the limit of the tenant's list, and still there, and the snapshot is whole.
      expect(await snapshotOf('?callId=CA-1', 'tenant-a:u1')).toEqual({
        callIds: ['CA-1'],
        complete: true,
      });
      // An ended call, an unknown one and another tenant's are not active calls of the stream.
      const mixed = ['CA-1', 'CA-ended', 'CA-3', 'CA-unknown', 'CB-1'];
      expect(
        await snapshotOf(`?${mixed.map((id) => `callId=${id}`).join('&')}`, 'tenant-a:u2'),
      ).toEqual({ callIds: ['CA-3', 'CA-1'], complete: true });
      // The stream's branch too: CA-4 is south.
      expect(await snapshotOf('?callId=CA-1&callId=CA-4&branchId=north', 'tenant-a:u3')).toEqual({
        callIds: ['CA-1'],
        complete: true,
      });
      // More followed calls active than snapshotLimit: the newest, and cut.
      expect(
        await snapshotOf('?callId=CA-1&callId=CA-2&callId=CA-3&callId=CA-4', 'tenant-a:u4'),
      ).toEqual({ callIds: ['CA-4', 'CA-3'], complete: false });
      expect(lists).toBe(0);

      // 250 followed calls are read 100 at a time, each once.
      asked.length = 0;
      const many = Array.from({ length: 250 }, (_, index) => `CA-${index + 1}`);
      expect(
        await snapshotOf(`?${many.map((id) => `callId=${id}`).join('&')}`, 'tenant-a:u5'),
      ).toEqual({ callIds: ['CA-4', 'CA-3'], complete: false });
      expect(asked.sort()).toEqual([...many].sort());
      expect(mostAtOnce).toBe(100);
      expect(lists).toBe(0);

      // An all-tenants stream's call ids may name any tenant's call: it filters the list.
      expect(await snapshotOf('?callId=CA-1', '*:root')).toEqual({
        callIds: [],
        complete: false,
      });
      expect(lists).toBe(1);
      expect(sse.errors).toEqual([]);
    });

    it('never asks the tracker for more than 10,000 calls; a snapshot that fills 10,000 is not said complete', async () => {
      const call = (callId: string) => ({
        tenantId: 'tenant-a',
        callId,
        provider: 'twilio',
        active: true,
        status: 'ringing' as const,
        createdAt: '2026-11-21T10:00:00.000Z',
        updatedAt: '2026-11-21T10:00:00.000Z',
        version: 1,
      });
      const held: Record<string, number> = { 'tenant-a': 10_000, 'tenant-b': 9_999 };
      const asked: Array<number | undefined> = [];
      const sse = await startSse(makeListener, {
        snapshotLimit: 10_000,
        tracker: {
          // As the tracker's own: a limit of 1–10,000, refused otherwise.
          listActiveCalls: async (tenantId, options) => {
            asked.push(options?.limit);
            const limit = options?.limit ?? 1000;
            if (limit > 10_000) throw new RangeError('limit must be 1–10,000');
            const count = Math.min(limit, held[tenantId] ?? 0);
            return Array.from({ length: count }, (_, index) => call(`CA-${index}`));
          },
          listActiveCallsAcrossTenants: async () => [],
        },
      });
      for (const [token, length, complete] of [
        ['tenant-a:u1', 10_000, false],
        ['tenant-b:u1', 9_999, true],
      ] as const) {
        const { reader, close } = await openRaw(sse.url, token);
        const [snapshot] = await reader.events(1);
        const data = JSON.parse(snapshot!.data!) as { calls: unknown[]; complete: boolean };
        expect(data.calls).toHaveLength(length);
        expect(data.complete).toBe(complete);
        await close();
      }
      expect(asked).toEqual([10_000, 10_000]);
      expect(sse.errors).toEqual([]);
    });

    it('sends no more than snapshotLimit calls, and says the snapshot is cut, when a tracker of its own lists more', async () => {
      const call = (callId: string) => ({
        tenantId: 'tenant-a',
        callId,
        provider: 'twilio',
        active: true,
        status: 'ringing' as const,
        createdAt: '2026-11-21T10:00:00.000Z',
        updatedAt: '2026-11-21T10:00:00.000Z',
        version: 1,
      });
      const sse = await startSse(makeListener, {
        snapshotLimit: 2,
        tracker: {
          listActiveCalls: async () => [call('CA-1'), call('CA-2'), call('CA-3'), call('CA-4')],
          listActiveCallsAcrossTenants: async () => [],
        },
      });
      const { reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      const [snapshot] = await reader.events(1);
      const data = JSON.parse(snapshot!.data!) as {
        calls: { callId: string }[];
        complete: boolean;
      };
      expect(data.calls.map((entry) => entry.callId)).toEqual(['CA-1', 'CA-2']);
      expect(data.complete).toBe(false);
      await close();
    });

    it('filters by several call ids, by types and type, by prefix and by branch', async () => {
      const sse = await startSse(makeListener);
      const byCalls = await openRaw(
        `${sse.url}?callId=CA-1&callId=CA-2&types=call.answered,call.ended&type=call.ringing`,
        'tenant-a:u1',
      );
      const byPrefix = await openRaw(`${sse.url}?types=call.*&branchId=north`, 'tenant-a:u1');
      await sse.untilOpened(2);
      const events = [
        makeCallEvent({ callId: 'CA-1', type: 'call.ringing' }),
        makeCallEvent({ callId: 'CA-3', type: 'call.ringing', branchId: 'north' }),
        makeCallEvent({ callId: 'CA-2', type: 'call.recording' }),
        makeCallEvent({
          callId: 'CA-2',
          type: 'call.answered',
          status: 'in-progress',
          branchId: 'north',
        }),
        makeCallEvent({ callId: 'CA-1', type: 'agent.status', branchId: 'north' }),
        makeCallEvent({ callId: 'CA-1', type: 'call.ended', status: 'completed' }),
      ];
      for (const event of events) await sse.bus.publish(event);
      const ids = async (reader: SseReader, count: number) =>
        (await reader.events(count)).map((frame) => JSON.parse(frame.data!).id);
      expect(await ids(byCalls.reader, 3)).toEqual([events[0]!.id, events[3]!.id, events[5]!.id]);
      expect(await ids(byPrefix.reader, 2)).toEqual([events[1]!.id, events[3]!.id]);
      await byCalls.close();
      await byPrefix.close();
    });

    it('sends a : ping comment on an idle stream every keepAliveMs', async () => {
      const sse = await startSse(makeListener, { keepAliveMs: 20 });
      const { reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      const ping = await reader.nextWhere((frame) => frame.comments.length > 0);
      expect(ping).toEqual({ comments: ['ping'] });
      await reader.nextWhere((frame) => frame.comments.includes('ping'));
      await close();
    });

    it('ends a stream within maxStreamMs; the client reconnects, authenticating again, and resumes', async () => {
      let connects = 0;
      const sse = await startSse(makeListener, {
        maxStreamMs: 60_000,
        authenticate: (request) => {
          connects += 1;
          return bearer(request);
        },
      });
      // The streams' lifetimes (and the client's reconnect delay) run on the test's clock.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const client = openEventSource(sse.url, 'tenant-a:u1');
        await sse.untilOpened(1);
        const first = makeCallEvent();
        await sse.bus.publish(first);
        await client.until((events) => events.length === 1);
        // Half of maxStreamMs at least: still open.
        vi.advanceTimersByTime(29_999);
        expect(sse.closed).toEqual([]);
        vi.advanceTimersByTime(30_001);
        await sse.untilClosed(1);
        expect(sse.closed[0]).toMatchObject({ reason: 'expired', delivered: 1 });
        while (sse.opened.length < 2) {
          await vi.advanceTimersByTimeAsync(10);
          await new Promise((resolve) => setImmediate(resolve));
        }
        expect(connects).toBe(2);
        const second = makeCallEvent();
        await sse.bus.publish(second);
        await client.until((events) => events.some((event) => event.data.id === second.id));
        // Resumed after the first event: nothing twice, no reset.
        expect(client.received.map((event) => [event.type, event.data.id])).toEqual([
          ['call', first.id],
          ['call', second.id],
        ]);
        client.close();
      } finally {
        vi.useRealTimers();
      }
    });

    it('shares one bus subscription per tenant, and ends it when the last client leaves', async () => {
      const sse = await startSse(makeListener);
      const raw = await openRaw(sse.url, 'tenant-a:u1');
      const client = openEventSource(sse.url, 'tenant-a:u2');
      const other = openEventSource(sse.url, 'tenant-b:u3');
      await sse.untilOpened(3);
      expect(sse.subscriptions).toHaveLength(2);
      const [tenantA, tenantB] = sse.subscriptions as [BusSubscription, BusSubscription];

      await raw.close();
      await sse.untilClosed(1);
      await sse.bus.publish(makeCallEvent());
      await client.until((events) => events.length === 1);
      client.close();
      await sse.untilClosed(2);
      expect(sse.closed.map((info) => info.reason)).toEqual(['client-closed', 'client-closed']);
      // An ended subscription answers at once, even though an event is waiting in the bus.
      await sse.bus.publish(makeCallEvent());
      expect(await tenantA.next()).toEqual({ done: true, value: undefined });

      other.close();
      await sse.untilClosed(3);
      await sse.bus.publish(makeCallEvent({ tenantId: 'tenant-b' }));
      expect(await tenantB.next()).toEqual({ done: true, value: undefined });
    });

    it('ends a stream when the bus closes', async () => {
      const sse = await startSse(makeListener);
      const { reader } = await openRaw(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      await sse.bus.close();
      await reader.toEnd();
      await sse.untilClosed(1);
      expect(sse.closed[0]?.reason).toBe('bus-closed');
    });

    it('ends the stream and reports the error when the snapshot cannot be loaded', async () => {
      const sse = await startSse(makeListener, {
        tracker: {
          listActiveCalls: async () => {
            throw new Error('store down');
          },
          listActiveCallsAcrossTenants: async () => [],
        },
      });
      const { reader } = await openRaw(sse.url, 'tenant-a:u1');
      const frames = await reader.toEnd();
      expect(frames.filter((frame) => frame.event)).toEqual([]);
      await sse.untilClosed(1);
      expect(sse.closed[0]?.reason).toBe('error');
      expect(sse.errors).toHaveLength(1);
    });

    it('cuts off a client that stops reading (bounded memory), which then resumes exactly', async () => {
      const sse = await startSse(makeListener, { maxPendingEvents: 8 });
      const { port } = new URL(sse.url);
      const socket = connect(Number(port), '127.0.0.1');
      socket.write(
        'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tenant-a:u1\r\n' +
          'Accept: text/event-stream\r\nConnection: close\r\n\r\n',
      );
      await sse.untilOpened(1);
      socket.pause();
      const published: string[] = [];
      const blob = 'x'.repeat(64 * 1024);
      // Each event is 64 KB: socket buffers fill quickly, then the bus buffer, then `lagged`.
      while (sse.closed.length === 0) {
        published.push((await sse.bus.publish(makeCallEvent({ data: { blob } }))).cursor);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(sse.closed[0]?.reason).toBe('lagged');
      expect(published.length).toBeLessThan(1000);

      // The response ends (the chunked body's last chunk), or the Node handler drops the
      // connection of a client that is behind: either way the client keeps the complete frames.
      let text = '';
      socket.setEncoding('utf8');
      await new Promise<void>((resolve) => {
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (text.endsWith('\r\n0\r\n\r\n')) resolve();
        });
        socket.once('close', () => resolve());
        socket.resume();
      });
      socket.destroy();
      const received = [...text.matchAll(/\nid: ([^\n]+)\nevent: call\ndata: [^\n]*\n\n/g)].map(
        (match) => match[1]!,
      );
      expect(received.length).toBeLessThan(published.length);
      expect(received).toEqual(published.slice(0, received.length));

      const resumed = await openRaw(sse.url, 'tenant-a:u1', { 'last-event-id': received.at(-1)! });
      const rest = await resumed.reader.events(published.length - received.length);
      expect(rest.map((frame) => frame.id)).toEqual(published.slice(received.length));
      await resumed.close();
    });

    it('a burst while the first snapshot loads is not lag: the snapshot is read again, then live events', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock(), logger: {} });
      const firstRead = deferred();
      const gate = deferred();
      let reads = 0;
      const sse = await startSse(makeListener, {
        realBus: bus,
        maxPendingEvents: 10,
        tracker: {
          listActiveCalls: async (tenantId, options) => {
            reads += 1;
            if (reads === 1) {
              firstRead.resolve();
              await gate.promise;
            }
            return tracker.listActiveCalls(tenantId, options);
          },
          listActiveCallsAcrossTenants: (options) => tracker.listActiveCallsAcrossTenants(options),
        },
      });
      const { reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      await firstRead.promise;
      // Three times the backlog arrives while the first read waits; the client reads promptly.
      const burst = Array.from({ length: 30 }, (_, index) => `CA-${index + 1}`);
      for (const callId of burst) await tracker.ingest(makeCallEvent({ callId }));
      gate.resolve();

      const [snapshot] = await reader.events(1);
      expect(snapshot?.event).toBe('snapshot');
      // Read after the discarded events: it holds every one of them.
      const { calls, complete } = JSON.parse(snapshot!.data!);
      expect(calls.map((call: { callId: string }) => call.callId).sort()).toEqual(
        [...burst].sort(),
      );
      expect(complete).toBe(true);
      // One read in flight at a time: the first, then one more.
      expect(reads).toBe(2);
      const live = makeCallEvent({ callId: 'CA-live' });
      await tracker.ingest(live);
      const [frame] = await reader.events(1);
      expect(frame).toMatchObject({ id: expect.any(String), event: 'call' });
      expect(JSON.parse(frame!.data!).id).toBe(live.id);
      expect(sse.closed).toEqual([]);
      await close();
      await sse.untilClosed(1);
      // The dropped events were never written: only the live one counts.
      expect(sse.closed[0]).toMatchObject({ reason: 'client-closed', delivered: 1 });
    });

    it('a burst during every snapshot read ends the fresh stream after three reads: the last snapshot carries its position, the client resumes from it', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock(), logger: {} });
      const published: string[] = [];
      let reads = 0;
      let bursting = true;
      const sse = await startSse(makeListener, {
        realBus: bus,
        maxPendingEvents: 10,
        tracker: {
          listActiveCalls: async (tenantId, options) => {
            reads += 1;
            // Read first, then three times the backlog arrives before the answer: every read
            // overflows (the old session read again for as long as the tenant stayed busy).
            const calls = await tracker.listActiveCalls(tenantId, options);
            if (bursting && reads < 8) {
              for (let index = 0; index < 30; index += 1) {
                const callId = `CA-${reads}-${index}`;
                published.push(callId);
                const event = makeCallEvent({ callId });
                await tracker.ingest(event);
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
            return calls;
          },
          listActiveCallsAcrossTenants: (options) => tracker.listActiveCallsAcrossTenants(options),
        },
      });
      const { reader } = await openRaw(sse.url, 'tenant-a:u1');
      const [snapshot] = await reader.events(1);
      expect(snapshot?.event).toBe('snapshot');
      expect(reads).toBe(3);
      // The position the read started from: the client resumes after it, and loses nothing.
      expect(snapshot?.id).toEqual(expect.any(String));
      expect(await reader.toEnd()).toEqual([]);
      await sse.untilClosed(1);
      expect(sse.closed[0]).toMatchObject({ reason: 'lagged', delivered: 0 });
      expect(String(sse.errors[0])).toMatch(/maxPendingEvents/);
      bursting = false;

      const resumed = await openRaw(sse.url, 'tenant-a:u1', { 'last-event-id': snapshot!.id! });
      const { calls } = JSON.parse(snapshot!.data!) as { calls: { callId: string }[] };
      const known = new Set(calls.map((call) => call.callId));
      const missing = published.filter((callId) => !known.has(callId));
      const replayed = await resumed.reader.events(missing.length);
      expect(replayed.map((frame) => JSON.parse(frame.data!).callId)).toEqual(missing);
      expect(reads).toBe(3);
      await resumed.close();
    });

    it('a burst during every snapshot read of an all-tenants stream reads it again (no cursor to end on), reported once', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock(), logger: {} });
      const published: string[] = [];
      let reads = 0;
      const sse = await startSse(makeListener, {
        realBus: bus,
        maxPendingEvents: 10,
        tracker: {
          listActiveCalls: (tenantId, options) => tracker.listActiveCalls(tenantId, options),
          listActiveCallsAcrossTenants: async (options) => {
            reads += 1;
            // Five reads overflow: more than the three after which a tenant's stream ends.
            const calls = await tracker.listActiveCallsAcrossTenants(options);
            if (reads <= 5) {
              for (let index = 0; index < 30; index += 1) {
                const callId = `CA-${reads}-${index}`;
                published.push(callId);
                await tracker.ingest(makeCallEvent({ callId, tenantId: `tenant-${index % 2}` }));
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
            return calls;
          },
        },
      });
      const { reader, close } = await openRaw(sse.url, '*:root');
      const [snapshot] = await reader.events(1);
      expect(snapshot?.event).toBe('snapshot');
      // Read again until a read was not overrun: it holds every event dropped before it.
      expect(reads).toBe(6);
      const { calls } = JSON.parse(snapshot!.data!) as { calls: { callId: string }[] };
      expect(calls.map((call) => call.callId).sort()).toEqual([...published].sort());
      const live = makeCallEvent({ callId: 'CA-live', tenantId: 'tenant-b' });
      await tracker.ingest(live);
      const [frame] = await reader.events(1);
      expect(JSON.parse(frame!.data!).id).toBe(live.id);
      expect(sse.closed).toEqual([]);
      // Reported once, when the third read overflowed too.
      expect(sse.errors).toHaveLength(1);
      expect(String(sse.errors[0])).toMatch(/all tenants.*maxPendingEvents/s);
      await close();
      await sse.untilClosed(1);
      expect(sse.closed[0]).toMatchObject({ reason: 'client-closed', delivered: 1 });
    });

    it('skips an event it cannot send, reports it once, and keeps delivering: no reconnect loop', async () => {
      const poisoned = poisonBus(createMemoryBus());
      let connects = 0;
      const sse = await startSse(makeListener, {
        realBus: poisoned.bus,
        authenticate: (request) => {
          connects += 1;
          return bearer(request);
        },
      });
      const client = openEventSource(sse.url, 'tenant-a:u1');
      // A filter that reads the poisoned fields, and a stream that replays them from history.
      const branch = openEventSource(`${sse.url}?branchId=north&callId=A&callId=B`, 'tenant-a:u2');
      await sse.untilOpened(2);
      const good: string[] = [];
      const bad: { id: string; cursor: string }[] = [];
      for (const kind of ['deep', 'toJSON', 'getter'] as const) {
        const fine = makeCallEvent({ callId: 'A', branchId: 'north' });
        good.push(fine.id);
        await sse.bus.publish(fine);
        const poison = makeCallEvent({ callId: 'B', branchId: 'north' });
        poisoned.poison(poison.id, kind);
        bad.push({ id: poison.id, cursor: (await sse.bus.publish(poison)).cursor });
      }
      const last = makeCallEvent({ callId: 'A', branchId: 'north' });
      good.push(last.id);
      await sse.bus.publish(last);
      const replaying = openEventSource(
        `${sse.url}?lastEventId=${encodeURIComponent(bad[0]!.cursor.replace(/\d+$/, '0'))}`,
        'tenant-a:u3',
      );

      for (const source of [client, branch, replaying]) {
        await source.until((events) => events.some((event) => event.data.id === last.id));
        expect(callEvents(source.received).map((event) => event.data.id)).toEqual(good);
        expect(
          source.received
            .filter((event) => event.type === 'reset')
            .map((event) => [event.data.reason, event.lastEventId]),
        ).toEqual(bad.map(({ cursor }) => ['event-skipped', cursor]));
      }
      expect(connects).toBe(3);
      expect(sse.closed).toEqual([]);
      // Reported once per event, however many streams skipped it.
      expect(sse.errorInfos.map((info) => info.skipped)).toEqual(
        bad.map(({ id, cursor }) => ({
          cursor,
          eventId: id,
          type: 'call.ringing',
          tenantId: 'tenant-a',
        })),
      );
      expect(sse.errors[0]).toBeInstanceOf(RangeError);
      expect(String(sse.errors[1])).toContain('poisoned toJSON');
      for (const source of [client, branch, replaying]) source.close();
    });

    it('a resume starts after a skipped event, never on it again', async () => {
      const poisoned = poisonBus(createMemoryBus());
      let connects = 0;
      const reconnected = deferred<string | null>();
      const sse = await startSse(makeListener, {
        realBus: poisoned.bus,
        authenticate: (request) => {
          connects += 1;
          if (connects === 2) reconnected.resolve(request.headers.get('last-event-id'));
          return bearer(request);
        },
      });
      const client = openEventSource(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      await sse.bus.publish(makeCallEvent());
      const poison = makeCallEvent();
      poisoned.poison(poison.id, 'deep');
      const { cursor } = await sse.bus.publish(poison);
      await client.until((events) => events.length === 2);
      expect(client.received[1]).toMatchObject({ type: 'reset', lastEventId: cursor });

      sse.server.dropConnections();
      expect(await reconnected.promise).toBe(cursor);
      await sse.untilOpened(2);
      const after = makeCallEvent();
      await sse.bus.publish(after);
      await client.until((events) => events.some((event) => event.data.id === after.id));
      expect(client.received.map((event) => event.type)).toEqual(['call', 'reset', 'call']);
      expect(sse.errors).toHaveLength(1);
      client.close();
    });

    it('after a skipped event, a fresh snapshot follows the reset (with a tracker)', async () => {
      const poisoned = poisonBus(createMemoryBus());
      const tracker = createCallTracker({ bus: poisoned.bus, clock: testEventClock() });
      const sse = await startSse(makeListener, { realBus: poisoned.bus, tracker });
      const client = openEventSource(sse.url, 'tenant-a:u1');
      await client.until((events) => events.length === 1);
      const poison = makeCallEvent({ callId: 'CA-1' });
      poisoned.poison(poison.id, 'toJSON');
      await tracker.ingest(poison);
      const later = makeCallEvent({ callId: 'CA-2' });
      await tracker.ingest(later);
      await client.until((events) => events.some((event) => event.data.id === later.id));
      expect(client.received.map((event) => event.type)).toEqual([
        'snapshot',
        'reset',
        'snapshot',
        'call',
      ]);
      expect(
        client.received[2]?.data.calls.map((call: { callId: string }) => call.callId),
      ).toContain('CA-1');
      client.close();
    });

    it('a hook that throws is reported, and the stream goes on', async () => {
      const sse = await startSse(makeListener, {
        onOpen: () => {
          throw new Error('onOpen broke');
        },
      });
      const { reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      const event = makeCallEvent();
      await sse.bus.publish(event);
      const [frame] = await reader.events(1);
      expect(JSON.parse(frame!.data!).id).toBe(event.id);
      expect(sse.errors.map(String)).toEqual(['Error: onOpen broke']);
      await close();
    });

    it('names the principal of the stream a failure belongs to as info.principal, as Socket.IO and tRPC do', async () => {
      const sse = await startSse(makeListener, {
        onOpen: () => {
          throw new Error('onOpen broke');
        },
      });
      const { reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      await sse.bus.publish(makeCallEvent());
      await reader.events(1);
      const [info] = sse.errorInfos;
      expect(info?.principal).toMatchObject({ tenantId: 'tenant-a', userId: 'u1' });
      expect(info?.stream?.principal).toBe(info?.principal);
      await close();
    });

    it('leaves a call it cannot encode out of the snapshot, and reports it', async () => {
      const call = (callId: string) => ({
        tenantId: 'tenant-a',
        callId,
        provider: 'twilio',
        active: true,
        status: 'ringing' as const,
        createdAt: '2026-11-21T10:00:00.000Z',
        updatedAt: '2026-11-21T10:00:00.000Z',
        version: 1,
      });
      const bad = {
        ...call('CA-bad'),
        toJSON() {
          throw new Error('poisoned call');
        },
      };
      const sse = await startSse(makeListener, {
        tracker: {
          listActiveCalls: async () => [call('CA-1'), bad, call('CA-2')],
          listActiveCallsAcrossTenants: async () => [],
        },
      });
      const { reader, close } = await openRaw(sse.url, 'tenant-a:u1');
      const [snapshot] = await reader.events(1);
      expect(
        JSON.parse(snapshot!.data!).calls.map((entry: { callId: string }) => entry.callId),
      ).toEqual(['CA-1', 'CA-2']);
      // CA-bad is active and left out: the snapshot does not list every active call.
      expect(JSON.parse(snapshot!.data!).complete).toBe(false);
      expect(sse.errors.map(String)).toEqual(['Error: poisoned call']);
      await close();
    });

    it('gives an all-tenants principal every tenant’s events and snapshot, and no one else', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock() });
      const sse = await startSse(makeListener, { realBus: bus, tracker });
      await tracker.ingest(makeCallEvent({ callId: 'A1' }));
      await tracker.ingest(makeCallEvent({ callId: 'B1', tenantId: 'tenant-b' }));

      for (const query of [
        'allTenants=true',
        'allTenants=1&tenantId=tenant-b',
        'tenantId=tenant-b',
      ]) {
        const forged = await fetch(`${sse.url}?${query}`, {
          headers: { authorization: 'Bearer tenant-a:u1' },
        });
        expect(forged.status, query).toBe(400);
        await forged.body?.cancel();
      }
      const admin = openEventSource(sse.url, '*:root');
      const tenant = openEventSource(`${sse.url}?allTenants`, 'tenant-a:u1');
      expect((await tenant.failed()).code).toBe(400);
      const plain = openEventSource(sse.url, 'tenant-a:u2');
      await admin.until((events) => events.length === 1);
      await plain.until((events) => events.length === 1);
      const callIds = (event: { data: { calls: { callId: string }[] } }) =>
        event.data.calls.map((call) => call.callId).sort();
      expect(callIds(admin.received[0]!)).toEqual(['A1', 'B1']);
      expect(callIds(plain.received[0]!)).toEqual(['A1']);

      const events = [
        makeCallEvent({ tenantId: 'tenant-b' }),
        makeCallEvent(),
        makeCallEvent({ tenantId: 'tenant-c' }),
      ];
      for (const event of events) await bus.publish(event);
      await admin.until((received) => callEvents(received).length === 3);
      await plain.until((received) => callEvents(received).length === 1);
      expect(callEvents(admin.received).map((event) => event.data.id)).toEqual(
        events.map((event) => event.id),
      );
      expect(callEvents(plain.received).map((event) => event.data.tenantId)).toEqual(['tenant-a']);
      expect(sse.subscribeOptions.filter((options) => options.allTenants)).toHaveLength(1);

      // No cross-tenant cursor to resume from: a reconnecting all-tenants stream reloads.
      sse.server.dropConnections();
      await sse.untilOpened(4);
      await admin.until((received) => received.length === 6);
      expect(admin.received.slice(4).map((event) => event.type)).toEqual(['reset', 'snapshot']);
      expect(admin.received[4]?.data).toEqual({ reason: 'reconnected' });
      expect(callIds(admin.received[5]!)).toEqual(['A1', 'B1']);
      admin.close();
      plain.close();
    });

    it('answers 500 when authenticate returns something that is not a principal', async () => {
      const sse = await startSse(makeListener, {
        authenticate: (request) =>
          (request.headers.get('authorization') === 'Bearer yes'
            ? { tenantId: 'tenant-a', allTenants: 'yes' }
            : { tenantId: '' }) as unknown as Principal,
      });
      for (const token of ['yes', 'no']) {
        const response = await fetch(sse.url, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(500);
        await response.body?.cancel();
      }
      expect(sse.errors).toHaveLength(2);
      expect(sse.subscriptions).toHaveLength(0);
    });

    it('a channel that falls behind reads on from history: its clients miss nothing', async () => {
      const sse = await startSse(makeListener, { busOptions: { maxBufferedMessages: 5 } });
      const client = openEventSource(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      const first = makeCallEvent();
      await sse.bus.publish(first);
      await client.until((events) => events.length === 1);
      // One synchronous burst: the channel's bus buffer of 5 overflows before it reads.
      const burst = Array.from({ length: 20 }, () => makeCallEvent());
      await Promise.all(burst.map((event) => sse.bus.publish(event)));
      await client.until((events) => events.length === 21);
      expect(client.received.map((event) => event.data.id)).toEqual(
        [first, ...burst].map((event) => event.id),
      );
      expect(sse.subscribeOptions.at(-1)).toMatchObject({
        tenantId: 'tenant-a',
        after: expect.any(String),
      });
      expect(sse.opened).toHaveLength(1);
      client.close();
    });

    it('joins the live channel exactly after a replay, while events keep coming', async () => {
      const sse = await startSse(makeListener);
      const client = openEventSource(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      const published: string[] = [];
      const publish = async () => {
        const event = makeCallEvent();
        published.push(event.id);
        await sse.bus.publish(event);
      };
      for (let index = 0; index < 5; index += 1) await publish();
      await client.until((events) => events.length === 5);
      sse.server.dropConnections();
      for (let index = 0; index < 30; index += 1) await publish();
      // Keep publishing, one event per turn, while the client reconnects and replays; on a
      // loaded machine the reconnect can take thousands of turns, so stop short of the bus's
      // history (1,000 events), past which the stream would rightly answer with a reset.
      while (sse.opened.length < 2) {
        if (published.length < 500) await publish();
        await new Promise((resolve) => setTimeout(resolve, published.length < 500 ? 0 : 5));
      }
      for (let index = 0; index < 20; index += 1) {
        await publish();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await client.until((events) => events.length === published.length);
      expect(client.received.map((event) => event.data.id)).toEqual(published);
      // The replaying stream joined the channel (at the latest with a live event after the
      // replay) and let its own subscription go.
      await publish();
      await client.until((events) => events.length === published.length);
      const replay = sse.subscriptions[sse.subscribeOptions.findIndex((options) => options.after)];
      expect(await replay?.next()).toEqual({ done: true, value: undefined });
      client.close();
    });
  });
}
