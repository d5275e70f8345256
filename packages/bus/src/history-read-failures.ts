/**
 * The failed history reads of a bus's subscriptions, reported as one incident: the first failure
 * as it is, then nothing while reads keep failing (each subscription retries every 250 ms for as
 * long as Redis is down, and every SSE or Socket.IO client holds one), then one `Error` once
 * every subscription whose read failed has read again, saying after how long and how many
 * failed reads. A subscription that ends while its read is failing leaves the incident quietly.
 */
export interface HistoryReadFailures {
  /** `reader`'s history read failed (it retries later). */
  failed(reader: object, error: Error): void;
  /** `reader` read history. */
  succeeded(reader: object): void;
  /** `reader` ended: it will not read again. */
  ended(reader: object): void;
}

/** Follows the failed reads of one bus, reporting to `report`. */
export function createHistoryReadFailures(
  report: (error: Error) => void,
  now: () => number = Date.now,
): HistoryReadFailures {
  const failing = new Set<object>();
  let incident: { since: number; failures: number } | undefined;

  const leave = (reader: object, recovered: boolean): void => {
    if (!failing.delete(reader) || failing.size > 0 || !incident) return;
    const { since, failures } = incident;
    incident = undefined;
    if (!recovered) return;
    const seconds = ((now() - since) / 1000).toFixed(1);
    report(
      new Error(
        `The Redis bus's history reads work again after ${seconds} s and ${failures} failed reads (only the first was reported).`,
      ),
    );
  };

  return {
    failed(reader, error) {
      failing.add(reader);
      if (incident) {
        incident.failures += 1;
        return;
      }
      incident = { since: now(), failures: 1 };
      report(error);
    },
    succeeded: (reader) => leave(reader, true),
    ended: (reader) => leave(reader, false),
  };
}
