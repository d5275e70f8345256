import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  openEventSource,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
  waitForExit,
} from '@calltrack/test-utils';
import type { EventSource } from 'eventsource';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const redis = await connectTestRedis();
const prefix = uniquePrefix('sse-nodes');
const nodeScript = fileURLToPath(new URL('./__tests__/sse-node-process.ts', import.meta.url));

interface SseNode {
  url: string;
  port: number;
  child: ChildProcess;
}

const children: ChildProcess[] = [];

async function startNode(): Promise<SseNode> {
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
  const sockets = new Set<Socket>();
  const proxy = {
    url: '',
    target,
    server: createServer((client) => {
      const upstream = connect(proxy.target, '127.0.0.1');
      sockets.add(client);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        sockets.delete(client);
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

describe.skipIf(!redis)('createSseNodeHandler across processes', () => {
  it('a node killed with kill -9: its clients resume on another node with every missed event, once', async () => {
    const publisher = createRedisBus({ redis: redis as Redis, prefix });
    const [one, two] = await Promise.all([startNode(), startNode()]);
    // Each node already serves a client of another tenant, as nodes in production do (it also
    // has the bus's subscriber connection up before the failover).
    const others = [one, two].map((node) => openEventSource(`${node.url}/events`, 'tenant-z:u9'));
    const opened = (source: EventSource) =>
      new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    await Promise.all(others.map((other) => opened(other.source)));
    const proxy = await startProxy(one.port);
    const client = openEventSource(`${proxy.url}/events`, 'tenant-a:u1');
    await opened(client.source);

    const published: string[] = [];
    const publish = async (tenantId = 'tenant-a') => {
      const event = makeCallEvent({ tenantId });
      await publisher.publish(event);
      if (tenantId === 'tenant-a') published.push(event.id);
    };
    for (let index = 0; index < 5; index += 1) await publish();
    await client.until((events) => events.length === 5);

    // The node dies mid-stream; the load balancer sends the reconnect to the other one.
    proxy.target = two.port;
    one.child.kill('SIGKILL');
    for (let index = 0; index < 30; index += 1) {
      await publish();
      await publish('tenant-b');
    }
    await client.until((events) => events.length >= published.length);
    // And live again on the new node.
    await publish();
    await client.until((events) => events.length >= published.length);

    const received = client.received.map((event) => event.data.id);
    expect(client.received.every((event) => event.type === 'call')).toBe(true);
    expect(new Set(received).size).toBe(received.length);
    expect(received).toEqual(published);
    await waitForExit(one.child);
    expect(one.child.signalCode).toBe('SIGKILL');
    client.close();
    for (const other of others) other.close();
    proxy.server.close();
    await publisher.close();
  }, 30_000);
});
