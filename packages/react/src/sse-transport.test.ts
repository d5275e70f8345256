import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callEvent,
  type SseTestServer,
  startSseServer,
  testSseTransport,
} from './__tests__/start-sse-server';
import { until } from './__tests__/wait-for-state';
import { createCallTrackClient } from './create-call-track-client';
import type { RetryDelay } from './retry-delay';
import { sseTransport } from './sse-transport';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server, and a client of `tenantId` whose retries wait nothing and are recorded. */
async function setup(tenantId = 'tenant-a') {
  const server = await startSseServer();
  cleanups.push(() => server.close());
  const delays: Array<[attempt: number, retryAfterMs: number | undefined]> = [];
  const transport = testSseTransport(server, tenantId, undefined, {
    retryDelay: (attempt, retryAfterMs) => {
      delays.push([attempt, retryAfterMs]);
      return 0;
    },
  });
  const client = createCallTrackClient({ transport });
  cleanups.push(client.connect());
  return { server, client, delays };
}

async function ingestAll(server: SseTestServer, events: ReturnType<typeof callEvent>[]) {
  for (const event of events) await server.tracker.ingest(event);
}

describe('sseTransport when the server (or a proxy) refuses a stream', () => {
  it('reopens after a 503 during a reconnect, and resumes with exactly the missed events', async () => {
    const { server, client, delays } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await server.tracker.ingest(callEvent('CA-0'));
    await until(client, (state) => state.activeCalls.length === 1);
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(event.callId ?? '')));

    // The EventSource reconnects by itself and gets a 503: it closes for good.
    server.refuseStreams({ status: 503 });
    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    const missed = Array.from({ length: 5 }, (_, index) => callEvent(`CA-m${index}`));
    await ingestAll(server, missed);

    const state = await until(
      client,
      (current) => current.activeCalls.length === 6 && current.connection.isConnected,
    );
    expect(received).toEqual(missed.map((event) => event.callId));
    expect(state.connection).toEqual({ isConnected: true, reconnecting: false });
    expect(delays).toEqual([[1, undefined]]);
    // The first stream, the refused reconnect, the reopened stream.
    expect(server.streamRequests()).toBe(3);

    await server.tracker.ingest(callEvent('CA-later'));
    await until(client, (current) => current.activeCalls.length === 7);
  });

  it('says it is reconnecting while it waits, backs off over refusals in a row, honours Retry-After', async () => {
    const { server, client, delays } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    const states: string[] = [];
    cleanups.push(
      client.subscribe(() => {
        const { isConnected, reconnecting } = client.getSnapshot().connection;
        const label = isConnected ? 'connected' : reconnecting ? 'reconnecting' : 'closed';
        if (states.at(-1) !== label) states.push(label);
      }),
    );

    server.refuseStreams(
      { status: 503 },
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 502 },
    );
    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    await until(client, (state) => state.connection.isConnected);
    expect(delays).toEqual([
      [1, undefined],
      [2, 7_000],
      [3, undefined],
    ]);
    expect(states).toEqual(['reconnecting', 'connected']);

    // A stream that opened starts the count again.
    server.refuseStreams({ status: 503 });
    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    await until(client, (state) => state.connection.isConnected);
    expect(delays.at(-1)).toEqual([1, undefined]);
  });

  it('gives up on a 401 with an error the UI can show, and refresh() tries once more', async () => {
    // No token: the real server answers 401.
    const { server, client, delays } = await setup('');
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'unauthorized',
      status: 401,
    });
    expect(delays).toEqual([]);
    expect(server.streamRequests()).toBe(1);

    // The app's "try again": one new stream, refused again, and the refresh says so at once.
    const failure = await client.refresh({ timeoutMs: 60_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: 'CallTrack_RefreshError', reason: 'closed' });
    expect(server.streamRequests()).toBe(2);
    expect(delays).toEqual([]);
  });

  it('gives up on a 403 answered to a reconnect; refresh() revives the stream once allowed', async () => {
    const { server, client, delays } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    server.refuseStreams({ status: 403 });
    server.dropConnections();
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({ code: 'forbidden', status: 403 });
    expect(delays).toEqual([]);

    await client.refresh({ timeoutMs: 5_000 });
    expect(client.getSnapshot().connection).toEqual({ isConnected: true, reconnecting: false });
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (current) => current.activeCalls.length === 1);
  });

  it('gives up on a 400 (a malformed filter the server refuses) instead of retrying it', async () => {
    const server = await startSseServer();
    cleanups.push(() => server.close());
    const delays: number[] = [];
    const transport = sseTransport({
      url: `${server.url}/events?token=tenant-a&types=Call.Ended`,
      EventSource,
      retryDelay: (attempt) => {
        delays.push(attempt);
        return 0;
      },
    });
    const client = createCallTrackClient({ transport });
    cleanups.push(client.connect());
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'rejected',
      status: 400,
    });
    expect(delays).toEqual([]);
    expect(server.streamRequests()).toBe(1);
  });

  it('gives up on a 404 answered to a reconnect, retries 408 and 429 (they pass)', async () => {
    const { server, client, delays } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    server.refuseStreams({ status: 408 }, { status: 429 }, { status: 404 });
    server.dropConnections();
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection.error).toMatchObject({ code: 'rejected', status: 404 });
    expect(delays).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    // The first stream, the dropped one's reconnect (408), the retries: 429, then 404.
    expect(server.streamRequests()).toBe(4);

    // The app's "try again" opens a fresh stream, which the server now accepts.
    await client.refresh({ timeoutMs: 5_000 });
    expect(client.getSnapshot().connection).toEqual({ isConnected: true, reconnecting: false });
  });

  it.each<[label: string, retryAfter: string | undefined, retryDelay: RetryDelay | undefined]>([
    ['Retry-After: 0', '0', undefined],
    ['a Retry-After date already past', 'Wed, 21 Oct 2015 07:28:00 GMT', undefined],
    ['an own retryDelay answering NaN', undefined, () => Number.NaN],
  ])('does not reopen at once after a refusal with %s, but after the backoff', async (...args) => {
    const [, retryAfter, retryDelay] = args;
    const server = await startSseServer();
    cleanups.push(() => server.close());
    server.refuseStreams(
      ...Array.from({ length: 1_000 }, () => ({
        status: 503,
        ...(retryAfter === undefined ? {} : { headers: { 'retry-after': retryAfter } }),
      })),
    );
    const requestedAt: number[] = [];
    let secondRequest: () => void = () => {};
    const secondRequested = new Promise<void>((resolve) => {
      secondRequest = resolve;
    });
    const transport = sseTransport({
      url: `${server.url}/events?token=tenant-a`,
      EventSource,
      eventSourceInit: {
        fetch: (input: RequestInfo | URL, init?: RequestInit) => {
          requestedAt.push(performance.now());
          if (requestedAt.length === 2) secondRequest();
          return fetch(input, init);
        },
      },
      ...(retryDelay ? { retryDelay } : {}),
    });
    const client = createCallTrackClient({ transport });
    cleanups.push(client.connect());
    await secondRequested;
    // The first retry's backoff is between 0.5 s and 1 s (it reopened within 1 ms before).
    expect(requestedAt[1]! - requestedAt[0]!).toBeGreaterThanOrEqual(450);
  });
});
