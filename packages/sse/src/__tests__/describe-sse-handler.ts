import { createServer, type RequestListener } from 'node:http';
import { connect } from 'node:net';
import {
  type BusSubscription,
  createMemoryBus,
  type EventBus,
  type MemoryBusOptions,
} from '@calltrack/bus';
import {
  callEvents,
  makeCallEvent,
  openEventSource,
  serveForTest,
  stopTestServers,
} from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { afterEach, describe, expect, it } from 'vitest';
import type { SseCloseInfo, SseHandlerOptions, SseStreamInfo } from '../sse-handler-options';
import type { SsePrincipal } from '../sse-principal';
import { deferred, SseReader } from './read-sse';

/** Turns handler options into a `node:http` listener (fetch handler + bridge, or Node handler). */
export type MakeSseListener = (options: SseHandlerOptions) => RequestListener;

/** `Authorization: Bearer <tenant>:<user>`; anything else is anonymous. */
export function bearer(request: Request): SsePrincipal | null {
  const match = /^Bearer ([^:\s]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
  return match ? { tenantId: match[1]!, userId: match[2]! } : null;
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
  const opened: SseStreamInfo[] = [];
  const closed: SseCloseInfo[] = [];
  const errors: unknown[] = [];
  const checks = new Set<() => void>();
  const notify = (): void => {
    for (const check of checks) check();
  };
  const server = await serveForTest(
    createServer(
      makeListener({
        bus: {
          subscribe(subscribeOptions) {
            const subscription = bus.subscribe(subscribeOptions);
            subscriptions.push(subscription);
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
        onError: (error) => {
          errors.push(error);
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
    opened,
    closed,
    errors,
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
      expect(first?.retry).toBeGreaterThanOrEqual(1000);
      expect(first?.retry).toBeLessThanOrEqual(1500);
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
      expect(post.headers.get('allow')).toBe('GET');
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
      const tracker = createCallTracker({ bus });
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
      const tracker = createCallTracker({ bus });
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

    it('ends the bus subscription as soon as the client disconnects', async () => {
      const sse = await startSse(makeListener);
      const raw = await openRaw(sse.url, 'tenant-a:u1');
      const client = openEventSource(sse.url, 'tenant-a:u2');
      await sse.untilOpened(2);
      expect(sse.subscriptions).toHaveLength(2);

      await raw.close();
      await sse.untilClosed(1);
      client.close();
      await sse.untilClosed(2);
      expect(sse.closed.map((info) => info.reason)).toEqual(['client-closed', 'client-closed']);
      for (const subscription of sse.subscriptions) {
        // An ended subscription answers at once, even though an event is waiting in the bus.
        await sse.bus.publish(makeCallEvent());
        expect(await subscription.next()).toEqual({ done: true, value: undefined });
      }
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
      const sse = await startSse(makeListener, { maxBufferedEvents: 8 });
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
  });
}
