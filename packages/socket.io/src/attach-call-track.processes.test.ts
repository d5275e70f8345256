import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallEvent } from '@calltrack/core';
import {
  connectTestRedis,
  deleteKeys,
  hasExited,
  killAndWait,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
  waitForExit,
} from '@calltrack/test-utils';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import { connected } from './__tests__/start-socket-server';
import type { CallTrackAck, CallTrackDelivery } from './call-track-protocol';

const redis = await connectTestRedis();
const prefix = uniquePrefix('socket-io-nodes');
const nodeScript = fileURLToPath(new URL('./__tests__/socket-node-process.ts', import.meta.url));

interface SocketNode {
  url: string;
  child: ChildProcess;
  /** Publishes from this node's process; resolves with the cursor. */
  publish(event: CallEvent): Promise<string>;
}

const nodes: SocketNode[] = [];
const clients: Socket[] = [];

async function startNode(): Promise<SocketNode> {
  const waiting = new Map<string, (cursor: string) => void>();
  let onListening!: (url: string) => void;
  const listening = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const child = spawnTypeScript(nodeScript, {
    args: [testRedisUrl, prefix],
    onLine: (line) => {
      const [kind, first, second] = line.split(' ');
      if (kind === 'listening') onListening(first as string);
      if (kind === 'published') waiting.get(first as string)?.(second as string);
    },
  });
  const node: SocketNode = {
    url: await listening,
    child,
    publish(event) {
      return new Promise((resolve) => {
        waiting.set(event.id, resolve);
        child.stdin?.write(`publish ${JSON.stringify(event)}\n`);
      });
    },
  };
  nodes.push(node);
  return node;
}

function client(node: SocketNode, auth: Record<string, unknown>): Socket {
  const socket = connect(node.url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth,
  });
  clients.push(socket);
  return socket;
}

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);

afterEach(async () => {
  // Children may still be booting when a test fails; they exit on `exit` or when killed.
  for (const socket of clients.splice(0)) socket.disconnect();
  await Promise.all(
    nodes.splice(0).map((node) => {
      if (hasExited(node.child)) return undefined;
      node.child.stdin?.write('exit\n');
      return waitForExit(node.child);
    }),
  );
}, 30_000);

/** Kills a node with SIGKILL (no cleanup of any kind) and resolves once it is gone. */
function killNode(node: SocketNode): Promise<void> {
  return killAndWait(node.child);
}

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('attachCallTrack on two processes sharing one Redis bus', () => {
  it('delivers events published on either node to clients of both, per tenant, and resumes across nodes', async () => {
    const [one, two] = await Promise.all([startNode(), startNode()]);
    const onOne = client(one!, { token: 'token:a:u1' });
    const onTwo = client(two!, { token: 'token:a:u2' });
    const otherTenant = client(one!, { token: 'token:b:u3' });
    const logOne = createEventLog(onOne);
    const logTwo = createEventLog(onTwo);
    const logOther = createEventLog(otherTenant);
    await Promise.all([connected(onOne), connected(onTwo), connected(otherTenant)]);
    // 20 s, not 5: a freshly spawned node on a loaded shared machine (load average 25 seen)
    // can take more than 5 s to answer its first subscription.
    for (const socket of [onOne, onTwo, otherTenant]) {
      const answer: CallTrackAck = await socket.timeout(20_000).emitWithAck('subscribe_to_calls');
      expect(answer).toEqual({ ok: true });
    }

    const published: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      const event = makeEvent('a', { id: `node-${index}` });
      published.push(event.id);
      await (index % 2 === 0 ? one! : two!).publish(event);
    }
    expect(ids(await logOne.waitFor('call_update', 10))).toEqual(published);
    expect(ids(await logTwo.waitFor('call_update', 10))).toEqual(published);

    // Tenant b's client saw none of it: its first delivery is its own event.
    const own = makeEvent('b', { id: 'b-own' });
    await two!.publish(own);
    expect(ids(await logOther.waitFor('call_update'))).toEqual(['b-own']);

    // Leave node one, miss events published on node one, resume on node two.
    const lastCursor = (logOne.named('call_update').at(-1)!.payload as CallTrackDelivery).cursor;
    onOne.disconnect();
    const missed: string[] = [];
    for (let index = 0; index < 50; index += 1) {
      const event = makeEvent('a', { id: `missed-${index}` });
      missed.push(event.id);
      await one!.publish(event);
    }
    const resumed = client(two!, { token: 'token:a:u1', lastCursor });
    const logResumed = createEventLog(resumed);
    await connected(resumed);
    expect(ids(await logResumed.waitFor('call_update', 50))).toEqual(missed);
    const live = makeEvent('a', { id: 'live-after-move' });
    await one!.publish(live);
    expect(ids(await logResumed.waitFor('call_update', 51))).toEqual([...missed, live.id]);
    expect(logResumed.named('reset')).toEqual([]);
    expect(ids(await logTwo.waitFor('call_update', 61)).slice(10)).toEqual([...missed, live.id]);
  }, 60_000);
});

describe.skipIf(!redis)(
  'attachCallTrack across processes: all tenants, and a node killed with SIGKILL',
  () => {
    it('gives an all-tenants client on one node every tenant’s events published on the other', async () => {
      const [one, two] = await Promise.all([startNode(), startNode()]);
      const admin = client(two!, { token: 'admin:ops:root' });
      const tenantA = client(one!, { token: 'token:a:u1' });
      const adminLog = createEventLog(admin);
      const tenantLog = createEventLog(tenantA);
      await Promise.all([connected(admin), connected(tenantA)]);
      for (const socket of [admin, tenantA]) {
        expect(await socket.timeout(20_000).emitWithAck('subscribe_to_calls')).toEqual({
          ok: true,
        });
      }
      const published: string[] = [];
      for (let index = 0; index < 8; index += 1) {
        const tenant = index % 2 === 0 ? 'a' : 'b';
        const event = makeEvent(tenant, { id: `all-${tenant}-${index}` });
        published.push(event.id);
        await (index < 4 ? one! : two!).publish(event);
      }
      // Order holds per tenant; across tenants it need not (bus README): a tenant's events may
      // wait behind its position check while the other tenant's go ahead.
      const seen = ids(await adminLog.waitFor('call_update', 8));
      for (const tenant of ['a', 'b']) {
        const ofTenant = (id: string) => id.startsWith(`all-${tenant}-`);
        expect(seen.filter(ofTenant)).toEqual(published.filter(ofTenant));
      }
      expect([...seen].sort()).toEqual([...published].sort());
      expect(ids(await tenantLog.waitFor('call_update', 4))).toEqual(
        published.filter((id) => id.startsWith('all-a')),
      );
      const probe = makeEvent('a', { id: 'all-probe' });
      await two!.publish(probe);
      expect(ids(await tenantLog.waitFor('call_update', 5)).at(-1)).toBe('all-probe');
      const tenantsSeen = tenantLog
        .named('call_update')
        .map((entry) => (entry.payload as CallTrackDelivery).event.tenantId);
      expect(new Set(tenantsSeen)).toEqual(new Set(['a']));
    }, 60_000);

    it('loses and repeats nothing for a client whose node is killed mid-stream and who resumes on another', async () => {
      const [doomed, survivor] = await Promise.all([startNode(), startNode()]);
      const socket = client(doomed!, { token: 'token:k:u1' });
      const log = createEventLog(socket);
      await connected(socket);
      expect(await socket.timeout(20_000).emitWithAck('subscribe_to_calls')).toEqual({ ok: true });
      const gone = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));

      const published: string[] = [];
      const publish = async (count: number) => {
        for (let index = 0; index < count; index += 1) {
          const event = makeEvent('k', { id: `k-${published.length}` });
          published.push(event.id);
          await survivor!.publish(event);
        }
      };
      await publish(30);
      await log.waitFor('call_update', 10);
      // Killed while events are still arriving: some were in flight to the dead node's client.
      const publishing = publish(30);
      await killNode(doomed!);
      await publishing;
      await gone;
      const received = ids(log.named('call_update'));
      const lastCursor = (log.named('call_update').at(-1)!.payload as CallTrackDelivery).cursor;

      const resumed = client(survivor!, { token: 'token:k:u1', lastCursor });
      const resumedLog = createEventLog(resumed);
      await connected(resumed);
      await publish(10);
      await resumedLog.waitFor('call_update', published.length - received.length);
      await survivor!.publish(makeEvent('k', { id: 'k-tail' }));
      await resumedLog.waitFor('call_update', published.length - received.length + 1);
      const all = [...received, ...ids(resumedLog.named('call_update'))];
      const lost = published.filter((id) => !all.includes(id));
      const repeated = all.length - new Set(all).size;
      expect({ lost, repeated }).toEqual({ lost: [], repeated: 0 });
      expect(all).toEqual([...published, 'k-tail']);
      expect(resumedLog.named('reset')).toEqual([]);
    }, 60_000);
  },
);
