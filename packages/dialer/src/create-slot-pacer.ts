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
      const tolerance = Math.max(spacingMs, minLatenessMs);
      for (let reservation = 1; ; reservation += 1) {
        signal?.throwIfAborted();
        const waitMs = await reserve(account, spacingMs);
        const due = clock.now() + waitMs;
        if (waitMs > 0) await clock.sleep(waitMs, signal);
        signal?.throwIfAborted();
        // A waiter woken later than its slot by more than a slot (a stalled process) would call
        // beside the callers of later slots: it takes a new slot, once.
        if (clock.now() - due <= tolerance || reservation === 2) return;
      }
    },
  };
}

/** Lateness that is only a timer's: below it, a waiter keeps its slot whatever the rate. */
const minLatenessMs = 25;
