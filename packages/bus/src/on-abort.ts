interface AbortListeners {
  callbacks: Set<() => void>;
  listener: () => void;
}

/** The one listener the bus has on each signal, and what it calls. */
const bySignal = new WeakMap<AbortSignal, AbortListeners>();

/**
 * Calls `callback` once when `signal` aborts; the returned function stops that. However many
 * subscriptions share one signal (an app-wide one), the bus adds one listener to it, so Node
 * prints no `MaxListenersExceededWarning` (it does from 11 listeners of one type on). Works on
 * any `EventTarget` signal, so no `node:events` import is needed.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let entry = bySignal.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      bySignal.delete(signal);
      // Each ends its own subscription; one that throws does not keep the others open.
      for (const each of [...callbacks]) {
        try {
          each();
        } catch {
          // Ending a subscription does not throw; nothing to report if it did.
        }
      }
      callbacks.clear();
    };
    entry = { callbacks, listener };
    bySignal.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = entry;
  callbacks.add(callback);
  return () => {
    if (!callbacks.delete(callback) || callbacks.size > 0) return;
    // The last one: nothing of the bus stays on the signal.
    signal.removeEventListener('abort', listener);
    if (bySignal.get(signal) === entry) bySignal.delete(signal);
  };
}
