import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BusMessage, BusSubscription } from '@calltrack/bus';
import {
  hasExited,
  killAndWait,
  spawnTypeScript,
  testRedisUrl,
  waitForExit,
} from '@calltrack/test-utils';

const workerFile = fileURLToPath(new URL('./presence-worker-process.ts', import.meta.url));

/** A presence "server" in a child process (see presence-worker-process.ts). */
export interface PresenceWorker {
  child: ChildProcess;
  /** Sends one command and resolves with its answer line. */
  command(line: string): Promise<string>;
  /** kill -9, and waits for the exit. */
  kill(): Promise<void>;
  /** Closes stdin: the worker stops presence (disconnecting its connections) and exits. */
  end(): Promise<void>;
}

/** Starts a worker on the shared test Redis and waits until it runs. */
export async function startPresenceWorker(
  storePrefix: string,
  busPrefix: string,
  timings: Record<string, number>,
): Promise<PresenceWorker> {
  const waiting: ((line: string) => void)[] = [];
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const child = spawnTypeScript(workerFile, {
    args: [testRedisUrl, storePrefix, busPrefix, JSON.stringify(timings)],
    onLine: (line) => {
      if (line === 'ready') onReady();
      else waiting.shift()?.(line);
    },
  });
  await ready;
  return {
    child,
    command(line) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin?.write(`${line}\n`);
      });
    },
    kill() {
      return killAndWait(child);
    },
    async end() {
      if (hasExited(child)) return;
      const exit = waitForExit(child);
      child.stdin?.end();
      await exit;
    },
  };
}

/** A bus subscription read in the background: messages with the time they arrived. */
export interface Collector {
  received: { message: BusMessage; at: number }[];
  /** The subscription's `ready`: live delivery is attached. */
  ready: Promise<void>;
  /** Resolves once `count` messages matching `predicate` have arrived (rejects after `timeoutMs`). */
  waitFor(
    predicate: (message: BusMessage) => boolean,
    count?: number,
    timeoutMs?: number,
  ): Promise<void>;
}

/** Reads `subscription` into a {@link Collector} until it ends. */
export function collect(subscription: BusSubscription): Collector {
  const received: Collector['received'] = [];
  const listeners = new Set<() => void>();
  void (async () => {
    for await (const message of subscription) {
      received.push({ message, at: Date.now() });
      for (const listener of listeners) listener();
    }
  })();
  return {
    received,
    ready: subscription.ready,
    waitFor(predicate, count = 1, timeoutMs = 15_000) {
      const done = () => received.filter((entry) => predicate(entry.message)).length >= count;
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`timed out waiting for ${count} matching bus messages`));
        }, timeoutMs);
        const listener = () => {
          if (!done()) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve();
        };
        listeners.add(listener);
      });
    },
  };
}
