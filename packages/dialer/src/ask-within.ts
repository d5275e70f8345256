import { CallTrackError } from '@calltrack/core';
import type { DialerClock } from './dialer-clock';

/** How long {@link askWithin} waits, on which clock, and for whom. */
export interface AskWithinOptions {
  clock: DialerClock;
  timeoutMs: number;
  /** The hook's name, for the timeout's message. */
  name: string;
  /** Stops the wait early (the run stopped): then it rejects too. */
  signal?: AbortSignal;
}

/**
 * What your hook answers, or a rejection once `timeoutMs` passed on the dialer's clock (a
 * `timeout` `CallTrackError`) or `signal` aborted: a hook that never answers would hold the run,
 * the user's run lease and `dialer.stop()` for good. The hook's `signal` aborts when the wait
 * ends, to stop its request; an answer after that is dropped.
 */
export async function askWithin<T>(
  ask: (signal: AbortSignal) => T | Promise<T>,
  options: AskWithinOptions,
): Promise<T> {
  const { clock, timeoutMs, name, signal } = options;
  const asking = new AbortController();
  const onAbort = (): void => asking.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) asking.abort();
  try {
    // A hook that throws at once rejects here, as one that rejects later.
    const answer = (async () => ask(asking.signal))();
    answer.catch(() => {}); // An answer after the wait ended is no one's to handle.
    const waited = clock.sleep(timeoutMs, asking.signal).then(() => ({ waited: true }) as const);
    const first = await Promise.race([answer.then((value) => ({ value })), waited]);
    if ('value' in first) return first.value;
    if (signal?.aborted) throw new Error(`${name} was not waited for: the run stopped.`);
    throw new CallTrackError({
      message: `${name} did not answer within ${timeoutMs} ms.`,
      code: 'timeout',
      status: 504,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    asking.abort();
  }
}
