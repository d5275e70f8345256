import type { Socket } from 'socket.io-client';

/** One event a client received. */
export interface LoggedEvent {
  name: string;
  payload: unknown;
}

/** Everything a client socket receives, in order, with waits that resolve on arrival. */
export interface EventLog {
  readonly events: LoggedEvent[];
  /** Events of one name, in order. */
  named(name: string): LoggedEvent[];
  /** Resolves once at least `count` events of `name` arrived (already arrived ones count). */
  waitFor(name: string, count?: number): Promise<LoggedEvent[]>;
}

/** Starts logging a client socket's events (call before connecting to miss nothing). */
export function createEventLog(socket: Socket): EventLog {
  const events: LoggedEvent[] = [];
  const waiters = new Set<() => void>();
  socket.onAny((name: string, payload: unknown) => {
    events.push({ name, payload });
    for (const waiter of [...waiters]) waiter();
  });
  const named = (name: string) => events.filter((event) => event.name === name);
  return {
    events,
    named,
    waitFor(name, count = 1) {
      return new Promise((resolve) => {
        const check = (): void => {
          const matching = named(name);
          if (matching.length >= count) {
            waiters.delete(check);
            resolve(matching);
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
