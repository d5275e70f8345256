import { describe, expect, it } from 'vitest';
import { createSseKeepAlive, type SseIntervalTimers } from './create-sse-keepalive';

/** Timers as Deno, Bun's web mode and browsers hand them out: plain numbers, no `unref`. */
function numberTimers() {
  const running = new Map<number, () => void>();
  let next = 0;
  const timers: SseIntervalTimers = {
    setInterval(callback) {
      next += 1;
      running.set(next, callback);
      return next;
    },
    clearInterval(timer) {
      running.delete(timer as number);
    },
  };
  const tick = (): void => {
    for (const callback of running.values()) callback();
  };
  return { timers, running, tick };
}

describe('createSseKeepAlive', () => {
  it('runs on timers that are plain numbers (no unref): pings idle streams, stops with the last', () => {
    const { timers, running, tick } = numberTimers();
    const keepAlive = createSseKeepAlive(15_000, timers);
    const pings: string[] = [];
    const idle = { wrote: false, ping: () => pings.push('idle') };
    const busy = { wrote: true, ping: () => pings.push('busy') };
    keepAlive.add(idle);
    keepAlive.add(busy);
    expect(running.size).toBe(1);
    tick();
    expect(pings).toEqual(['idle']);
    expect(busy.wrote).toBe(false);
    keepAlive.delete(idle);
    keepAlive.delete(busy);
    expect(running.size).toBe(0);
  });
});
