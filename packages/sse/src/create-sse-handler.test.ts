import { type BusSubscription, createMemoryBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import { createPresence } from '@calltrack/presence';
import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { bearer, describeSseHandler, openRaw, startSse } from './__tests__/describe-sse-handler';
import { describeSseOrigins } from './__tests__/describe-sse-origins';
import { SseReader } from './__tests__/read-sse';
import { createSseHandler } from './create-sse-handler';
import type { SseCloseInfo } from './sse-handler-options';

describeSseHandler('createSseHandler + toNodeHandler', (options) =>
  toNodeHandler(createSseHandler(options)),
);
describeSseOrigins('createSseHandler + toNodeHandler', (options) =>
  toNodeHandler(createSseHandler(options)),
);

describe('createSseHandler', () => {
  it('is a plain fetch handler: a Request in, a streaming Response out', async () => {
    const bus = createMemoryBus();
    const handler = createSseHandler({ bus, authenticate: bearer, retryMs: 0 });
    const controller = new AbortController();
    const response = await handler(
      new Request('http://localhost/events', {
        headers: { authorization: 'Bearer tenant-a:u1' },
        signal: controller.signal,
      }),
    );
    expect(response.status).toBe(200);
    const reader = new SseReader(response.body!);
    expect(await reader.next()).toEqual({ retry: 0, comments: [] });
    const event = makeCallEvent();
    const { cursor } = await bus.publish(event);
    expect((await reader.events(1))[0]).toMatchObject({ id: cursor, event: 'call' });
    controller.abort();
    expect(await reader.toEnd()).toEqual([]);
  });

  it('answers only once attached; a client gone meanwhile leaves nothing behind', async () => {
    const bus = createMemoryBus();
    let attach!: () => void;
    const attached = new Promise<void>((resolve) => {
      attach = resolve;
    });
    const subscriptions: BusSubscription[] = [];
    const handler = createSseHandler({
      bus: {
        subscribe(options) {
          const subscription = bus.subscribe(options);
          subscriptions.push(subscription);
          return {
            ready: subscription.ready.then(() => attached),
            next: () => subscription.next(),
            return: () =>
              subscription.return?.() ?? Promise.resolve({ done: true, value: undefined }),
            close: () => subscription.close(),
            [Symbol.asyncIterator]() {
              return this;
            },
          };
        },
      },
      authenticate: bearer,
    });
    const controller = new AbortController();
    let answered = false;
    const answer = handler(
      new Request('http://localhost/events', {
        headers: { authorization: 'Bearer tenant-a:u1' },
        signal: controller.signal,
      }),
    ).then((response) => {
      answered = true;
      return response;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    controller.abort();
    attach();
    const response = await answer;
    // An empty stream with a retry: (an error status would stop a browser's EventSource for good).
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^retry: \d+\n\n$/);
    await bus.publish(makeCallEvent());
    expect(await subscriptions[0]?.next()).toEqual({ done: true, value: undefined });
  });

  it('takes a request a framework built on Request.prototype (a lazy request): a stream, or none once aborted', async () => {
    const bus = createMemoryBus();
    const presence = createPresence({ bus, autoHeartbeat: false, leaveDelayMs: 0 });
    const handler = createSseHandler({ bus, presence, authenticate: bearer, retryMs: 0 });
    // As @hono/node-server builds its requests: Request.prototype's getters cannot read it.
    const request = (user: string, signal: AbortSignal): Request => {
      const real = new Request('http://localhost/events', {
        headers: { authorization: `Bearer tenant-a:${user}` },
      });
      return Object.create(Request.prototype, {
        method: { value: 'GET' },
        url: { value: real.url },
        headers: { value: real.headers },
        signal: { value: signal },
      });
    };
    const controller = new AbortController();
    const open = await handler(request('u1', controller.signal));
    expect(open.status).toBe(200);
    const reader = new SseReader(open.body!);
    expect(await reader.next()).toEqual({ retry: 0, comments: [] });
    // Already aborted: no stream, and the user it would have connected is not left online.
    const gone = await handler(request('u2', AbortSignal.abort()));
    expect(await gone.text()).toMatch(/^retry: \d+\n\n$/);
    await expect
      .poll(async () => (await presence.listMembers('tenant-a')).map((member) => member.userId))
      .toEqual(['u1']);
    controller.abort();
    await open.body?.cancel().catch(() => {});
  });

  it('an already-aborted request gets no stream: its user does not stay online, nothing stays subscribed', async () => {
    const bus = createMemoryBus();
    const presence = createPresence({ bus, autoHeartbeat: false, leaveDelayMs: 0 });
    const left: Promise<void>[] = [];
    const subscriptions: BusSubscription[] = [];
    const handler = createSseHandler({
      bus: {
        subscribe(options) {
          const subscription = bus.subscribe(options);
          subscriptions.push(subscription);
          return subscription;
        },
      },
      presence: {
        listMembers: (tenantId) => presence.listMembers(tenantId),
        async connect(principal, options) {
          const connection = await presence.connect(principal, options);
          return {
            heartbeat: () => connection.heartbeat(),
            disconnect: () => {
              const leaving = connection.disconnect();
              left.push(leaving);
              return leaving;
            },
          };
        },
      },
      authenticate: bearer,
      retryMs: 0,
      keepAliveMs: 0,
    });
    const request = (user: string, signal: AbortSignal) =>
      new Request('http://localhost/events', {
        headers: { authorization: `Bearer tenant-a:${user}` },
        signal,
      });
    const controller = new AbortController();
    const open = await handler(request('u1', controller.signal));
    const reader = new SseReader(open.body!);
    expect(await reader.next()).toEqual({ retry: 0, comments: [] });

    // Its client is gone before the answer; the runtime drops the response unread.
    await handler(request('u2', AbortSignal.abort()));
    expect(left).toHaveLength(1);
    await Promise.all(left);
    const members = await presence.listMembers('tenant-a');
    expect(members.map((member) => member.userId)).toEqual(['u1']);

    // The tenant's channel ends with its one real stream.
    controller.abort();
    await reader.cancel();
    await bus.publish(makeCallEvent());
    expect(subscriptions).toHaveLength(1);
    expect(await subscriptions[0]?.next()).toEqual({ done: true, value: undefined });
    await presence.stop();
  });

  it('behind toNodeHandler, a stream of a tenant already streaming never asks for the bridge request’s signal (it would live as long as the stream)', async () => {
    const asked: boolean[] = [];
    const sse = await startSse((options) => {
      const handler = createSseHandler(options);
      return toNodeHandler((request) => {
        let signalAsked = false;
        const { get } = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(request), 'signal')!;
        Object.defineProperty(request, 'signal', {
          get() {
            signalAsked = true;
            return get!.call(this);
          },
        });
        return handler(request).finally(() => asked.push(signalAsked));
      });
    });
    const first = await openRaw(sse.url, 'tenant-a:u1');
    const second = await openRaw(sse.url, 'tenant-a:u2');
    await sse.untilOpened(2);
    // The first waited for the tenant's channel to attach: it listened for its client leaving.
    expect(asked).toEqual([true, false]);
    await Promise.all([first.close(), second.close()]);
  });

  it('answers 400 to a repeated Last-Event-ID header (fetch joins it with ", ")', async () => {
    const bus = createMemoryBus();
    const handler = createSseHandler({ bus, authenticate: bearer, retryMs: 0 });
    const { cursor } = await bus.publish(makeCallEvent());
    const response = await handler(
      new Request('http://localhost/events', {
        headers: [
          ['authorization', 'Bearer tenant-a:u1'],
          ['last-event-id', cursor],
          ['last-event-id', cursor],
        ],
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: 'invalid_argument', message: '"Last-Event-ID" was given twice.' },
    });
  });

  it('counts as delivered the call events written to the stream, not those dropped with it', async () => {
    const bus = createMemoryBus();
    const closed: SseCloseInfo[] = [];
    const handler = createSseHandler({
      bus,
      authenticate: bearer,
      retryMs: 0,
      keepAliveMs: 0,
      maxPendingEvents: 5,
      onClose: (info) => closed.push(info),
    });
    const response = await handler(
      new Request('http://localhost/events', { headers: { authorization: 'Bearer tenant-a:u1' } }),
    );
    const reader = new SseReader(response.body!);
    expect(await reader.next()).toEqual({ retry: 0, comments: [] });
    // The client stops reading: frames fill the body's queue, then the backlog, then it ends.
    for (let published = 0; closed.length === 0 && published < 100; published += 1) {
      await bus.publish(makeCallEvent());
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(closed[0]?.reason).toBe('lagged');
    const written = (await reader.toEnd()).filter((frame) => frame.event === 'call');
    expect(written.length).toBeGreaterThan(0);
    expect(closed[0]?.delivered).toBe(written.length);
  });

  it('tells clients to reconnect within a second by default (retry: between 500 and 1,000 ms)', async () => {
    const handler = createSseHandler({ bus: createMemoryBus(), authenticate: bearer });
    const retries = new Set<number>();
    for (let index = 0; index < 20; index += 1) {
      const controller = new AbortController();
      const response = await handler(
        new Request('http://localhost/events', {
          headers: { authorization: 'Bearer tenant-a:u1' },
          signal: controller.signal,
        }),
      );
      const reader = new SseReader(response.body!);
      const retry = (await reader.next())?.retry as number;
      expect(retry).toBeGreaterThanOrEqual(500);
      expect(retry).toBeLessThanOrEqual(1000);
      retries.add(retry);
      controller.abort();
      await reader.cancel();
    }
    // Jittered: a restarted server is not hit by every client at the same moment.
    expect(retries.size).toBeGreaterThan(1);
  });

  it('behind toNodeHandler writes frames straight to the Node response: its web body is never read', async () => {
    const responses: Response[] = [];
    const sse = await startSse((options) => {
      const handler = createSseHandler(options);
      return toNodeHandler(async (request) => {
        const response = await handler(request);
        responses.push(response);
        return response;
      });
    });
    const client = await openRaw(sse.url, 'tenant-a:u1');
    expect(client.response.headers.get('content-type')).toBe('text/event-stream');
    expect((await client.reader.next())?.retry).toBeGreaterThan(0);
    const { cursor } = await sse.bus.publish(makeCallEvent());
    expect((await client.reader.events(1))[0]).toMatchObject({ id: cursor, event: 'call' });
    // The bridge took the session: no reader ever locked the web body, which ended empty.
    const body = responses[0]?.body as ReadableStream<Uint8Array>;
    expect(body.locked).toBe(false);
    expect(await body.getReader().read()).toEqual({ done: true, value: undefined });
    await client.close();
    await sse.untilClosed(1);
    expect(sse.closed[0]).toMatchObject({ reason: 'client-closed', delivered: 1 });
  });

  it('starts on the first read of its body; once read, it is not handed to the Node bridge', async () => {
    const bus = createMemoryBus();
    const handler = createSseHandler({ bus, authenticate: bearer, retryMs: 0 });
    const open = () =>
      handler(
        new Request('http://localhost/events', {
          headers: { authorization: 'Bearer tenant-a:u1' },
        }),
      );
    const takeWriter = (response: Response): unknown =>
      (response as unknown as Record<symbol, () => unknown>)[
        Symbol.for('calltrack.node-body-writer.v1')
      ]!();

    // Events published before the first read wait for it, in order.
    const read = await open();
    const first = await bus.publish(makeCallEvent());
    const reader = new SseReader(read.body!);
    expect(await reader.next()).toEqual({ retry: 0, comments: [] });
    expect((await reader.events(1))[0]).toMatchObject({ id: first.cursor });
    expect(takeWriter(read)).toBeUndefined();
    await reader.cancel();

    // A clone shares the body: the original is then streamed, not taken.
    const original = await open();
    const copy = original.clone();
    expect(takeWriter(original)).toBeUndefined();
    const copyReader = new SseReader(copy.body!);
    expect(await copyReader.next()).toEqual({ retry: 0, comments: [] });
    // Both branches of a tee must be cancelled before either cancel resolves.
    await Promise.all([copyReader.cancel(), original.body?.cancel()]);

    // Taken once, by one bridge.
    const taken = await open();
    expect(typeof takeWriter(taken)).toBe('function');
    expect(takeWriter(taken)).toBeUndefined();
    await bus.close();
  });

  it('refuses options it cannot work with', () => {
    const bus = createMemoryBus();
    // @ts-expect-error: no authenticate
    expect(() => createSseHandler({ bus })).toThrow(/authenticate/);
    // @ts-expect-error: no bus
    expect(() => createSseHandler({ authenticate: bearer })).toThrow(/bus/);
    expect(() => createSseHandler({ bus, authenticate: bearer, keepAliveMs: -1 })).toThrow(
      /keepAliveMs/,
    );
    expect(() => createSseHandler({ bus, authenticate: bearer, retryMs: 1.5 })).toThrow(/retryMs/);
    expect(() => createSseHandler({ bus, authenticate: bearer, maxStreamMs: -1 })).toThrow(
      /maxStreamMs/,
    );
  });

  it('refuses a timer delay a timer cannot wait, naming the option and its range', () => {
    const bus = createMemoryBus();
    const cases = [
      ['keepAliveMs', 0],
      ['retryMs', 0],
      ['attachTimeoutMs', 1],
      ['maxStreamMs', 0],
    ] as const;
    for (const [option, min] of cases) {
      for (const value of [min - 1, 1.5, 2 ** 31]) {
        expect(() => createSseHandler({ bus, authenticate: bearer, [option]: value })).toThrow(
          expect.objectContaining({
            code: 'invalid_argument',
            message: `createSseHandler: ${option} must be an integer from ${min} to 2147483647.`,
          }),
        );
      }
    }
  });
});
