/** What a client subscription delivered, with a way to await a condition on it. */
export interface Collector<T> {
  data: T[];
  /** Connection states of the link: `connecting`, `pending`, `idle`. */
  states: string[];
  errors: unknown[];
  started: number;
  /** Resolves once `predicate` holds (checked now and after every callback). */
  until(predicate: () => boolean): Promise<void>;
  /** Callbacks for `client.x.subscribe(input, callbacks)`. */
  callbacks: {
    onData(value: T): void;
    onError(error: unknown): void;
    onStarted(): void;
    onConnectionStateChange(state: { state: string }): void;
  };
}

/** Collects a client subscription's callbacks; awaits conditions without timers. */
export function collectSubscription<T>(): Collector<T> {
  const waiting: Array<{ predicate: () => boolean; resolve: () => void }> = [];
  const check = (): void => {
    for (const waiter of [...waiting]) {
      if (waiter.predicate()) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const collector: Collector<T> = {
    data: [],
    states: [],
    errors: [],
    started: 0,
    until(predicate) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ predicate, resolve }));
    },
    callbacks: {
      onData(value) {
        collector.data.push(value);
        check();
      },
      onError(error) {
        collector.errors.push(error);
        check();
      },
      onStarted() {
        collector.started += 1;
        check();
      },
      onConnectionStateChange(state) {
        collector.states.push(state.state);
        check();
      },
    },
  };
  return collector;
}
