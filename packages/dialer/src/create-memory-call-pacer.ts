import type { CallPacer } from './call-pacer';
import { createSlotPacer, pacingClock } from './create-slot-pacer';
import type { DialerClock } from './dialer-clock';

/** Options of {@link createMemoryCallPacer}. */
export interface MemoryCallPacerOptions {
  /** Where the pacer reads the time and waits. Default: the real clock (its waits keep the process alive). */
  clock?: DialerClock;
}

/** Paces calls within this process: one slot per call, `1 / callsPerSecond` s apart per account. */
export function createMemoryCallPacer(options: MemoryCallPacerOptions = {}): CallPacer {
  const clock = options.clock ?? pacingClock;
  // The time each account's next slot starts; one entry per account.
  const nextSlot = new Map<string, number>();
  return createSlotPacer(async (account, spacingMs) => {
    const now = clock.now();
    const slot = Math.max(nextSlot.get(account) ?? now, now);
    nextSlot.set(account, slot + spacingMs);
    return slot - now;
  }, clock);
}
