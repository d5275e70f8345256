'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * A list of items that remove themselves `lifetimeMs` after they were shown (toasts, popups).
 * Adding an item with a key already shown replaces it and restarts its timer; at most `max`
 * items stay, the oldest go first.
 */
export function useTimedList<T extends { key: string }>(lifetimeMs: number, max: number) {
  const [items, setItems] = useState<T[]>([]);
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());

  const remove = useCallback((key: string) => {
    clearTimeout(timers.current.get(key));
    timers.current.delete(key);
    setItems((current) => current.filter((item) => item.key !== key));
  }, []);

  const show = useCallback(
    (item: T) => {
      clearTimeout(timers.current.get(item.key));
      timers.current.set(
        item.key,
        setTimeout(() => remove(item.key), lifetimeMs),
      );
      setItems((current) =>
        [...current.filter((other) => other.key !== item.key), item].slice(-max),
      );
    },
    [lifetimeMs, max, remove],
  );

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    };
  }, []);

  return { items, show, remove };
}
