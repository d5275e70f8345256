import type { ChildProcess } from 'node:child_process';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
  waitForExit,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Collector, collectSubscription } from './__tests__/collect-subscription';
import { createTestClient, t } from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

const redis = await connectTestRedis();
const prefix = uniquePrefix('trpc-nodes');
const nodeScript = fileURLToPath(new URL('./__tests__/trpc-node-process.ts', import.meta.url));

type Received = { id: string; data: CallStreamMessage };
/** The children's router, for the client's types (the one in `trpc-node-process.ts`). */
const routerType = (bus: EventBus) =>
  t.router({ calltrack: createCallTrackRouter({ t, bus, authenticate: () => null }) });
type AppRouter = ReturnType<typeof routerType>;
const children: ChildProcess[] = [];

async function startNode(): Promise<{ url: string; port: number; child: ChildProcess }> {
  let onListening!: (url: string) => void;
  const listening = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const child = spawnTypeScript(nodeScript, {
    args: [testRedisUrl, prefix],
    onLine: (line) => {
      const [kind, url] = line.split(' ');
      if (kind === 'listening') onListening(url as string);
    },
  });
  children.push(child);
  const url = await listening;
  return { url, port: Number(new URL(url).port), child };
}

/** A TCP proxy, standing in for a load balancer, that forwards to whichever node it is told. */
async function startProxy(
  target: number,
): Promise<{ url: string; target: number; server: Server }> {
  const proxy = {
    url: '',
    target,
    server: createServer((client) => {
      const upstream = connect(proxy.target, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    }),
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  return proxy;
}

const eventIds = (collector: Collector<Received>): string[] =>
  collector.data.flatMap((m) => (m.data.type === 'event' ? [m.data.event.id] : []));

afterEach(async () => {
  await Promise.all(
    children.splice(0).map((child) => {
      if (child.exitCode === null && child.signalCode === null) child.stdin?.write('exit\n');
      return waitForExit(child);
    }),
  );
});

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('@calltrack/trpc across processes', () => {
  it('a node killed with kill -9: the real client resumes on another node with every missed event, once', async () => {
    const publisher = createRedisBus({ redis: redis as Redis, prefix });
    const [one, two] = await Promise.all([startNode(), startNode()]);
    const proxy = await startProxy(one.port);
    // Each node already serves a subscriber of another tenant, as nodes in production do.
    const unsubscribe: Array<() => void> = [];
    const subscribe = (url: string, tenantId: string) => {
      const collector = collectSubscription<Received>();
      const client = createTestClient<AppRouter>(url, `tenant:${tenantId}`);
      const subscription = client.calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
      unsubscribe.push(() => subscription.unsubscribe());
      return collector;
    };
    const others = [subscribe(one.url, 'tenant-z'), subscribe(two.url, 'tenant-z')];
    for (const other of others) await other.until(() => other.data.length === 1);
    const collector = subscribe(proxy.url, 'tenant-a');
    await collector.until(() => collector.data.length === 1); // ready

    const published: string[] = [];
    const publish = async (tenantId = 'tenant-a') => {
      const event = makeCallEvent({ tenantId });
      await publisher.publish(event);
      if (tenantId === 'tenant-a') published.push(event.id);
    };
    for (let index = 0; index < 5; index += 1) await publish();
    await collector.until(() => eventIds(collector).length === 5);

    proxy.target = two.port;
    one.child.kill('SIGKILL');
    for (let index = 0; index < 30; index += 1) {
      await publish();
      await publish('tenant-b');
    }
    await collector.until(() => eventIds(collector).length >= published.length);
    await publish();
    await collector.until(() => eventIds(collector).length >= published.length);

    expect(eventIds(collector)).toEqual(published);
    // One `resumed` where the client came back on node two, then every event once.
    expect(collector.data.filter((m) => m.data.type !== 'resumed').map((m) => m.data.type)).toEqual(
      ['ready', ...published.map(() => 'event')],
    );
    expect(collector.data.filter((m) => m.data.type === 'resumed')).toHaveLength(1);
    expect(collector.errors).toEqual([]);
    await waitForExit(one.child);
    expect(one.child.signalCode).toBe('SIGKILL');
    for (const stop of unsubscribe) stop();
    proxy.server.close();
    await publisher.close();
  }, 30_000);
});
