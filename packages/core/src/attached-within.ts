import { BusUnavailableError } from './errors/bus-unavailable-error';

/**
 * Waits for `attached` (a stream's bus subscription) at most `timeoutMs`, then throws a
 * `BusUnavailableError` (503): while Redis is down a subscription waits until Redis is back, and
 * the request with it. A failure of `attached` after the deadline goes nowhere: the caller has
 * given up on it, and its own closed checks undo what it still does.
 * @internal Shared by `@calltrack/sse` and `@calltrack/socket.io` (`attachTimeoutMs`).
 */
export async function attachedWithin<T>(attached: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new BusUnavailableError({
          message: `The stream could not be attached to the event bus within ${timeoutMs} ms (is Redis reachable?). Try again later.`,
        }),
      );
    }, timeoutMs);
    // Where timers are numbers (Deno, browsers) there is nothing to unref.
    (timer as { unref?: () => void }).unref?.();
  });
  attached.catch(() => {});
  try {
    return await Promise.race([attached, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
