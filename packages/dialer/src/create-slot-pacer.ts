import type { CallPacer } from './call-pacer';
import { callSpacingMs } from './call-spacing';
import type { DialerClock } from './dialer-clock';

/**
 * Takes the account's next slot (`spacingMs` after the previous one, or now if that has passed)
 * and answers how many milliseconds from now it starts.
 */
export type ReserveCallSlot = (account: string, spacingMs: number) => Promise<number>;

/**
 * A {@link CallPacer} that spaces calls evenly: each `acquire` reserves the account's next slot
 * and waits for it. Any second holds at most `callsPerSecond` slots, wherever it starts (a fixed
 * one-second window lets a whole window's calls through at its start, right after the previous
 * window's, decision 0047). A slot whose waiter aborts is left unused: the rate only falls.
 */
export function createSlotPacer(reserve: ReserveCallSlot, clock: DialerClock): CallPacer {
  return {
    async acquire(account, callsPerSecond, signal) {
      const spacingMs = callSpacingMs(callsPerSecond);
      signal?.throwIfAborted();
      const waitMs = await reserve(account, spacingMs);
      if (waitMs > 0) await clock.sleep(waitMs, signal);
      signal?.throwIfAborted();
    },
  };
}

/**
 * The real clock for pacers. Unlike the dialer's `systemClock`, its waits keep the process
 * alive: a call is about to be placed.
 */
export const pacingClock: DialerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};
