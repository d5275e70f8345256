/**
 * How long a channel waits before restarting a bus subscription that was lost `attempt` times in
 * a row without delivering anything: at once the first time (a subscription that ends once is
 * restarted before the next event is due), then 100 ms doubling up to 5 s, so a bus that stays
 * closed costs one attempt every 5 s, not a busy loop.
 */
export function channelRestartDelay(attempt: number): number {
  if (attempt <= 1) return 0;
  return Math.min(5000, 100 * 2 ** (attempt - 2));
}
