import type { PresenceRegistration } from '@calltrack/core';
import { createHeartbeatOutage } from '@calltrack/core/internal';

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
  // An outage fails every subscriber's heartbeat at every beat: reported once, and once when
  // every subscriber whose heartbeat failed has heartbeated again (Socket.IO's and SSE's rule).
  // Any other failure is a bug, reported every time.
  const outage = createHeartbeatOutage<PresenceRegistration>({
    back: 'Presence heartbeats of the tRPC subscribers work again',
  });
  const beat = (registration: PresenceRegistration): void => {
    registration.heartbeat().then(
      () => {
        const back = outage.worked(registration);
        if (back) onError(new Error(back));
      },
      (error: unknown) => {
        if (outage.failed(registration, error)) onError(error);
      },
    );
  };
  const tick = (): void => {
    for (const registration of registrations) beat(registration);
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
      outage.left(registration);
      if (registrations.size === 0 && timer !== undefined) {
        timers.clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
