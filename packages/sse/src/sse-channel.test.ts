import { createServer } from 'node:http';
import type { EventBus } from '@calltrack/bus';
import { serveForTest, stopTestServers } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, openRaw } from './__tests__/describe-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

afterEach(() => stopTestServers());

describe('a tenant channel whose bus subscriptions keep failing', () => {
  it('subscribes again at once, then after 100 ms doubling (no busy loop, one report per attempt)', async () => {
    // A bus of the app's own whose every subscription attaches, then fails at its first read.
    const subscribedAt: number[] = [];
    let onSubscribe: () => void = () => {};
    const bus: Pick<EventBus, 'subscribe'> = {
      subscribe() {
        subscribedAt.push(performance.now());
        onSubscribe();
        const subscription = {
          ready: Promise.resolve(),
          next: () => Promise.reject(new Error('the subscription broke')),
          return: () => Promise.resolve({ done: true as const, value: undefined }),
          close: () => Promise.resolve(),
          [Symbol.asyncIterator]: () => subscription,
        };
        return subscription as unknown as ReturnType<EventBus['subscribe']>;
      },
    };
    const reports: unknown[] = [];
    const http = await serveForTest(
      createServer(
        createSseNodeHandler({
          bus,
          authenticate: bearer,
          onError: (error) => reports.push(error),
        }),
      ),
    );
    const fourth = new Promise<void>((resolve) => {
      onSubscribe = () => {
        if (subscribedAt.length === 4) resolve();
      };
    });
    const stream = await openRaw(`${http.url}/events`, 'tenant-a:u1');
    expect(stream.response.status).toBe(200);
    await fourth;
    const [first, second, third, fourthAt] = subscribedAt as [number, number, number, number];
    // At once after the first failure; then 100 ms, then 200 ms.
    expect(second - first).toBeLessThan(100);
    expect(third - second).toBeGreaterThanOrEqual(95);
    expect(fourthAt - third).toBeGreaterThanOrEqual(195);
    expect(reports.length).toBeLessThanOrEqual(subscribedAt.length);
    await stream.close();
  });
});
