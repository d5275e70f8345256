import { createMemoryBus } from '@calltrack/bus';
import { testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { afterEach, describe, expect, it } from 'vitest';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import { t } from './__tests__/start-test-server';
import { createCallTrackRouter } from './create-call-track-router';
import { withSseRetry } from './with-sse-retry';

describe('withSseRetry', () => {
  const buses: ReturnType<typeof createMemoryBus>[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });

  const setup = () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const observed = observeSubscriptions(bus);
    const router = t.router({
      calltrack: createCallTrackRouter({
        t,
        bus: observed.bus,
        tracker: createCallTracker({ bus, clock: testEventClock() }),
        authenticate: () => ({ tenantId: 'tenant-a' }),
      }),
    });
    const handler = withSseRetry(
      (req: Request) =>
        fetchRequestHandler({ endpoint: '/trpc', req, router, createContext: () => ({}) }),
      { retryMs: 800 },
    );
    return { handler, observed };
  };

  it('starts a subscription stream with retry: (400–800 ms here), and cancelling it ends the subscription', async () => {
    const { handler, observed } = setup();
    const controller = new AbortController();
    const response = await handler(
      new Request('http://localhost/trpc/calltrack.onCallEvent', { signal: controller.signal }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = decoder.decode((await reader.read()).value);
    const retry = Number(/^retry: (\d+)\n\n$/.exec(first)?.[1]);
    expect(retry).toBeGreaterThanOrEqual(400);
    expect(retry).toBeLessThanOrEqual(800);
    let text = '';
    while (!text.includes('"type":"ready"')) text += decoder.decode((await reader.read()).value);
    expect(text).toContain('event: connected');

    await reader.cancel();
    controller.abort();
    await (await observed.nth(1)).closed;
  });

  it('passes other answers through untouched', async () => {
    const { handler } = setup();
    const response = await handler(new Request('http://localhost/trpc/calltrack.activeCalls'));
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ result: { data: [] } });
  });

  it('refuses an unusable retryMs', () => {
    for (const retryMs of [-1, 1.5, 2 ** 31]) {
      expect(() => withSseRetry(() => new Response(), { retryMs })).toThrow(
        expect.objectContaining({
          code: 'invalid_argument',
          message: 'withSseRetry: retryMs must be an integer from 0 to 2147483647.',
        }),
      );
    }
  });
});
