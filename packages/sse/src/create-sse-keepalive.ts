/** A stream the keepalive ticker looks after. */
export interface SseKeepAliveTarget {
  /** True when the stream wrote something since the last tick; the ticker clears it. */
  wrote: boolean;
  /** Writes a keepalive comment. */
  ping(): void;
  /** Called on every tick, written or not: the stream's presence heartbeat. */
  beat?(): void;
}

/** One timer for every stream of a handler. */
export interface SseKeepAlive {
  add(target: SseKeepAliveTarget): void;
  delete(target: SseKeepAliveTarget): void;
}

/** The interval timers the ticker runs on: the runtime's, or a test's. */
export interface SseIntervalTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(timer: unknown): void;
}

const runtimeTimers: SseIntervalTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => clearInterval(timer as ReturnType<typeof setInterval>),
};

/**
 * A shared keepalive ticker: every `intervalMs` it pings the streams that wrote nothing since the
 * previous tick, so an idle stream gets a ping every interval and a busy one none; no stream is
 * ever silent for two intervals. One `unref()`ed timer for all streams (none while there are no
 * streams), instead of a timer per connection.
 */
export function createSseKeepAlive(
  intervalMs: number,
  timers: SseIntervalTimers = runtimeTimers,
): SseKeepAlive {
  const targets = new Set<SseKeepAliveTarget>();
  let timer: unknown;

  const tick = (): void => {
    for (const target of targets) {
      target.beat?.();
      if (target.wrote) target.wrote = false;
      else target.ping();
    }
  };

  return {
    add(target) {
      targets.add(target);
      if (timer === undefined) {
        timer = timers.setInterval(tick, intervalMs);
        // Node's timers can let the process exit; Deno's, Bun's and browsers' may be numbers.
        (timer as { unref?: () => void }).unref?.();
      }
    },
    delete(target) {
      targets.delete(target);
      if (targets.size === 0 && timer !== undefined) {
        timers.clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
