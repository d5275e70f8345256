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

/**
 * A shared keepalive ticker: every `intervalMs` it pings the streams that wrote nothing since the
 * previous tick, so an idle stream gets a ping every interval and a busy one none; no stream is
 * ever silent for two intervals. One `unref()`ed timer for all streams (none while there are no
 * streams), instead of a timer per connection.
 */
export function createSseKeepAlive(intervalMs: number): SseKeepAlive {
  const targets = new Set<SseKeepAliveTarget>();
  let timer: ReturnType<typeof setInterval> | undefined;

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
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
    },
    delete(target) {
      targets.delete(target);
      if (targets.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
