import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './start-redis-server';
import { hasExited, killAndWait } from './wait-for-exit';

/** One node of a test cluster. */
export interface RedisClusterNode {
  host: string;
  port: number;
}

/** A slot being moved by hand, as a resharding tool does, key by key. */
export interface RedisSlotMigration {
  /** Moves these keys of the slot (`MIGRATE … KEYS`) and nothing else. */
  move(keys: readonly string[]): Promise<void>;
  /** Moves the slot's remaining keys, then gives the slot to the target on every node. */
  finish(): Promise<void>;
}

/** A Redis Cluster this test owns: masters on free ports, no replicas, nothing on disk but its config. */
export interface RedisClusterProcess {
  /** The nodes by index; each is a master owning an even share of the slots. */
  nodes: RedisClusterNode[];
  /** Startup nodes for `new Cluster(startupNodes)`. */
  startupNodes: RedisClusterNode[];
  /** Index of the node that owns a slot now. */
  ownerOf(slot: number): Promise<number>;
  /** Moves a slot, keys included, to another node, as a resharding does. */
  migrateSlot(slot: number, toIndex: number): Promise<void>;
  /**
   * Opens the move of a slot to another node (IMPORTING on the target, MIGRATING on the source)
   * and moves no key yet: the test moves keys one by one, and finishes it.
   */
  startSlotMigration(slot: number, toIndex: number): Promise<RedisSlotMigration>;
  /** Kills one node at once (SIGKILL), as a crash would. */
  killNode(index: number): Promise<void>;
  /**
   * Starts a killed node again on its port with its cluster config: it rejoins owning the same
   * slots, with no data (a restart without persistence). Resolves once the cluster is ok again.
   */
  restartNode(index: number): Promise<void>;
  /** Stops every node and removes the config files. */
  stop(): Promise<void>;
}

const host = '127.0.0.1';

/** A line of CLUSTER SLOTS: first slot, last slot, the master (host, port, …), replicas. */
type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];
const slots = 16384;

/** Polls `check` every 20 ms until it holds, or fails after `timeoutMs`. */
async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts a Redis Cluster of `masters` nodes (default 3) with the installed `redis-server`
 * (7.0 or later: it sets the cluster bus port explicitly), and waits until every node reports
 * `cluster_state:ok` and knows every other. The slots are assigned directly (ADDSLOTSRANGE,
 * MEET), which takes a fraction of a second; `redis-cli --cluster create` waits in whole
 * seconds. Kill it with `stop()` (by PID); the nodes also die with the test process.
 */
export async function startRedisCluster(
  options: { masters?: number } = {},
): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3;
  const directory = await mkdtemp(join(tmpdir(), 'calltrack-cluster-'));
  const ports: { port: number; bus: number }[] = [];
  const taken = new Set<number>();
  while (ports.length < masters) {
    const port = await freePort();
    const bus = await freePort();
    if (port === bus || taken.has(port) || taken.has(bus)) continue;
    taken.add(port).add(bus);
    ports.push({ port, bus });
  }
  const children: (ChildProcess | undefined)[] = [];
  const killAll = (): void => {
    for (const child of children) if (child && !hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const launch = async (index: number): Promise<void> => {
    const { port, bus } = ports[index] as { port: number; bus: number };
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--cluster-port',
        String(bus),
        '--bind',
        host,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '1000',
        '--dir',
        directory,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children[index] = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    });
  };

  /** Runs `work` on a short-lived connection to one node. */
  const onNode = async <T>(index: number, work: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis({
      host,
      port: ports[index]?.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  };

  const everyNode = <T>(work: (redis: Redis, index: number) => Promise<T>): Promise<T[]> =>
    Promise.all(ports.map((_, index) => onNode(index, (redis) => work(redis, index))));

  const allOk = async (): Promise<boolean> => {
    const states = await everyNode(async (redis) => {
      const info = (await redis.cluster('INFO')) as string;
      return (
        info.includes('cluster_state:ok') &&
        info.includes(`cluster_known_nodes:${masters}`) &&
        info.includes(`cluster_slots_ok:${slots}`)
      );
    });
    return states.every(Boolean);
  };

  const ownerOf = async (slot: number): Promise<number> => {
    const ranges = (await onNode(0, (redis) => redis.cluster('SLOTS'))) as unknown as SlotRange[];
    const range = ranges.find(([start, end]) => slot >= start && slot <= end);
    const owner = ports.findIndex(({ port }) => port === range?.[2][1]);
    if (owner < 0) throw new Error(`Redis Cluster: slot ${slot} has no owner`);
    return owner;
  };

  try {
    await Promise.all(ports.map((_, index) => launch(index)));
    const ids = await everyNode(async (redis, index) => {
      const start = Math.floor((slots * index) / masters);
      const end = Math.floor((slots * (index + 1)) / masters) - 1;
      await redis.cluster('ADDSLOTSRANGE', start, end);
      await redis.cluster('SET-CONFIG-EPOCH', index + 1);
      return (await redis.cluster('MYID')) as string;
    });
    await onNode(0, async (redis) => {
      for (const { port, bus } of ports.slice(1))
        await redis.call('CLUSTER', 'MEET', host, port, bus);
    });
    await waitUntil('every node is ok', allOk);

    const startSlotMigration = async (
      slot: number,
      toIndex: number,
    ): Promise<RedisSlotMigration> => {
      const fromIndex = await ownerOf(slot);
      if (fromIndex === toIndex) throw new Error(`Redis Cluster: slot ${slot} is on ${toIndex}`);
      const [fromId, toId] = [ids[fromIndex] as string, ids[toIndex] as string];
      await onNode(toIndex, (redis) => redis.cluster('SETSLOT', slot, 'IMPORTING', fromId));
      await onNode(fromIndex, (redis) => redis.cluster('SETSLOT', slot, 'MIGRATING', toId));
      const move = async (keys: readonly string[]): Promise<void> => {
        if (keys.length === 0) return;
        const port = ports[toIndex]?.port as number;
        await onNode(fromIndex, (redis) => redis.migrate(host, port, '', 0, 5000, 'KEYS', ...keys));
      };
      const finish = async (): Promise<void> => {
        for (;;) {
          const keys = (await onNode(fromIndex, (redis) =>
            redis.cluster('GETKEYSINSLOT', slot, 100),
          )) as string[];
          if (keys.length === 0) break;
          await move(keys);
        }
        await giveSlot(slot, toIndex, toId);
      };
      return { move, finish };
    };

    const migrateSlot = async (slot: number, toIndex: number): Promise<void> => {
      if ((await ownerOf(slot)) === toIndex) return;
      await (await startSlotMigration(slot, toIndex)).finish();
    };

    /** Ends a slot's migration: the slot is the target's, on every node. */
    const giveSlot = async (slot: number, toIndex: number, toId: string): Promise<void> => {
      // The new owner first (it bumps its config epoch), then everyone else.
      await onNode(toIndex, (redis) => redis.cluster('SETSLOT', slot, 'NODE', toId));
      await everyNode((redis, index) =>
        index === toIndex ? Promise.resolve('OK') : redis.cluster('SETSLOT', slot, 'NODE', toId),
      );
      await waitUntil(`slot ${slot} is on node ${toIndex} everywhere`, async () => {
        const views = await everyNode(async (redis) => {
          const ranges = (await redis.cluster('SLOTS')) as unknown as SlotRange[];
          return ranges.some(
            ([start, end, owner]) =>
              slot >= start && slot <= end && owner[1] === ports[toIndex]?.port,
          );
        });
        return views.every(Boolean);
      });
    };

    const killNode = async (index: number): Promise<void> => {
      const child = children[index];
      children[index] = undefined;
      if (child) await killAndWait(child);
    };

    const stop = async (): Promise<void> => {
      process.off('exit', killAll);
      await Promise.all(ports.map((_, index) => killNode(index)));
      await rm(directory, { recursive: true, force: true });
    };

    const nodes = ports.map(({ port }) => ({ host, port }));
    return {
      nodes,
      startupNodes: nodes,
      ownerOf,
      migrateSlot,
      startSlotMigration,
      killNode,
      restartNode: async (index) => {
        await launch(index);
        await waitUntil('the restarted node is back', allOk);
      },
      stop,
    };
  } catch (error) {
    killAll();
    process.off('exit', killAll);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}
