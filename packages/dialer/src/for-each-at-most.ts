/**
 * Runs `work` on every item, at most `limit` at a time, and resolves once all have settled
 * (`work` handles its own failures). The reconciler's provider lookups: one at a time, a provider
 * that hangs until the timeout made a pass of 100 lookups last 100 timeouts.
 */
export async function forEachAtMost<Item>(
  items: readonly Item[],
  limit: number,
  work: (item: Item) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
