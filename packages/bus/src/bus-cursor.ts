/** A cursor taken apart: the stream's epoch and the event's sequence number in it. */
export interface BusCursor {
  epoch: string;
  seq: number;
  /**
   * Names the entry at `seq` (Redis: its publish time in ms, base 36), so a stream that went
   * back and gave `seq` to another event is noticed. Absent in cursors of the memory bus (its
   * streams cannot go back) and of earlier versions.
   */
  verifier?: string;
}

/**
 * Cursors read `<epoch>:<seq>`, or `<epoch>:<seq>.<verifier>`. The epoch names one incarnation
 * of a tenant's stream (a new memory bus, or a Redis that lost its data, starts a new one), so a
 * cursor from an old stream is never mistaken for a position in the new one. The verifier names
 * the entry at that position within the epoch: a Redis restored from an older snapshot, or a
 * failover that lost the last writes, keeps the epoch and hands the lost positions to new events.
 */
export function formatBusCursor(epoch: string, seq: number, verifier?: string): string {
  return verifier === undefined ? `${epoch}:${seq}` : `${epoch}:${seq}.${verifier}`;
}

/** Parses a cursor; undefined for anything that is not one. */
export function parseBusCursor(cursor: string): BusCursor | undefined {
  const separator = cursor.lastIndexOf(':');
  if (separator <= 0) return undefined;
  const position = /^(\d{1,15})(?:\.([0-9a-z]{1,11}))?$/.exec(cursor.slice(separator + 1));
  if (!position) return undefined;
  const epoch = cursor.slice(0, separator);
  const seq = Number(position[1]);
  const verifier = position[2];
  return verifier === undefined ? { epoch, seq } : { epoch, seq, verifier };
}

/** The verifier of a Redis stream entry: its publish time (ms), in base 36. */
export function busCursorVerifier(publishedAtMs: number): string {
  return publishedAtMs.toString(36);
}

/** A fresh random epoch. */
export function createBusEpoch(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
