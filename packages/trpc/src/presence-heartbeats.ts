import type { PresenceRegistration } from '@calltrack/core';

/** The presence registrations of one set of procedures, heartbeated together. */
export interface PresenceHeartbeats {
  add(registration: PresenceRegistration): void;
  delete(registration: PresenceRegistration): void;
}

/** The interval timers the heartbeats run on: the runtime's, or a test's. */
export interface HeartbeatTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(timer: unknown): void;
}

const runtimeTimers: HeartbeatTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => clearInterval(timer as ReturnType<typeof setInterval>),
};

/**
 * One `unref()`ed timer for every subscription's presence registration: tRPC's own SSE ping
 * has no server-side hook, so the procedures keep their own beat (none while nobody is
 * subscribed).
 */
export function createPresenceHeartbeats(
  intervalMs: number,
  onError: (error: unknown) => void,
  timers: HeartbeatTimers = runtimeTimers,
): PresenceHeartbeats {
  const registrations = new Set<PresenceRegistration>();
  let timer: unknown;
  const tick = (): void => {
    for (const registration of registrations) registration.heartbeat().catch(onError);
  };
  return {
    add(registration) {
      registrations.add(registration);
      if (timer === undefined) {
        timer = timers.setInterval(tick, intervalMs);
        // Node's timers can let the process exit; Deno's, Bun's and browsers' may be numbers.
        (timer as { unref?: () => void }).unref?.();
      }
    },
    delete(registration) {
      registrations.delete(registration);
      if (registrations.size === 0 && timer !== undefined) {
        timers.clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
