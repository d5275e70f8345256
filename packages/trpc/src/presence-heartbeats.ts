import type { PresenceRegistration } from '@calltrack/core';

/** The presence registrations of one set of procedures, heartbeated together. */
export interface PresenceHeartbeats {
  add(registration: PresenceRegistration): void;
  delete(registration: PresenceRegistration): void;
}

/**
 * One `unref()`ed timer for every subscription's presence registration: tRPC's own SSE ping
 * has no server-side hook, so the procedures keep their own beat (none while nobody is
 * subscribed).
 */
export function createPresenceHeartbeats(
  intervalMs: number,
  onError: (error: unknown) => void,
): PresenceHeartbeats {
  const registrations = new Set<PresenceRegistration>();
  let timer: ReturnType<typeof setInterval> | undefined;
  const tick = (): void => {
    for (const registration of registrations) registration.heartbeat().catch(onError);
  };
  return {
    add(registration) {
      registrations.add(registration);
      if (timer === undefined) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
    },
    delete(registration) {
      registrations.delete(registration);
      if (registrations.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
