import type { PresenceStore } from './presence-store';

/** Collects the transitions published in one tick and confirms them to the store together. */
export interface ConfirmationBatcher {
  /** Queues confirmations of published transitions of one tenant. */
  add(tenantId: string, eventIds: readonly string[]): void;
  /** Sends what is queued now (`stop()` does, rather than wait for the tick). */
  flush(): void;
}

/**
 * Confirms published transitions per tenant, once per tick: a burst of connects costs one
 * confirmation command per tenant instead of one each. A confirmation that never lands only
 * means a later sweep publishes the transition again, and the bus drops the copy by id.
 * `send` receives each store call (and its tenant), to track it.
 */
export function createConfirmationBatcher(
  store: Pick<PresenceStore, 'confirm'>,
  send: (confirmation: Promise<void>, tenantId: string) => void,
): ConfirmationBatcher {
  const pending = new Map<string, string[]>();
  let queued = false;
  const flush = (): void => {
    queued = false;
    for (const [tenantId, eventIds] of pending) send(store.confirm(tenantId, eventIds), tenantId);
    pending.clear();
  };
  return {
    add(tenantId, eventIds) {
      if (eventIds.length === 0) return;
      const list = pending.get(tenantId);
      if (list) list.push(...eventIds);
      else pending.set(tenantId, [...eventIds]);
      if (!queued) {
        queued = true;
        queueMicrotask(flush);
      }
    },
    flush() {
      if (queued) flush();
    },
  };
}
