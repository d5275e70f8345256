import { EventSource } from 'eventsource';

/** An event the test client received from a calltrack SSE stream. */
export interface ReceivedEvent {
  type: 'call' | 'snapshot' | 'presence' | 'presence-unavailable' | 'reset';
  /** The client's last event id after this event. */
  lastEventId: string;
  // biome-ignore lint/suspicious/noExplicitAny: test payloads are inspected freely
  data: any;
}

/**
 * Opens a calltrack SSE stream (`call`, `snapshot`, `presence`, `presence-unavailable`, `reset`
 * events) with the real `eventsource` client, authenticating with a bearer token through its
 * `fetch` when given one, and records every event it receives.
 */
export function openEventSource(url: string, token?: string) {
  const received: ReceivedEvent[] = [];
  const checks = new Set<() => void>();
  let failure: Error | undefined;
  const source = new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...init.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }),
  });
  const notify = (): void => {
    for (const check of [...checks]) check();
  };
  for (const type of ['call', 'snapshot', 'presence', 'presence-unavailable', 'reset'] as const) {
    source.addEventListener(type, (event) => {
      received.push({ type, lastEventId: event.lastEventId, data: JSON.parse(event.data) });
      notify();
    });
  }
  source.addEventListener('error', (event) => {
    if (source.readyState === source.CLOSED) {
      failure = Object.assign(new Error(`EventSource failed: ${event.message}`), {
        code: event.code,
      });
      notify();
    }
  });

  /** Resolves with everything received once `predicate(received)` holds; rejects if the connection fails for good. */
  const until = (predicate: (events: ReceivedEvent[]) => boolean): Promise<ReceivedEvent[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate(received)) {
          checks.delete(check);
          resolve(received);
        } else if (failure) {
          checks.delete(check);
          reject(failure);
        }
      };
      checks.add(check);
      check();
    });

  /** Resolves with the failure once the connection fails for good (non-200 answer). */
  const failed = (): Promise<Error & { code?: number }> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (failure) {
          checks.delete(check);
          resolve(failure);
        }
      };
      checks.add(check);
      check();
    });

  return { source, received, until, failed, close: () => source.close() };
}

/** The call events among `received`. */
export function callEvents(received: readonly ReceivedEvent[]): ReceivedEvent[] {
  return received.filter((event) => event.type === 'call');
}
