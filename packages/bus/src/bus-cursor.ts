/** A cursor taken apart: the stream's epoch and the event's sequence number in it. */
export interface BusCursor {
  epoch: string;
  seq: number;
}

/**
 * Cursors read `<epoch>:<seq>`. The epoch names one incarnation of a tenant's stream (a new
 * memory bus, or a Redis that lost its data, starts a new one), so a cursor from an old stream is
 * never mistaken for a position in the new one.
 */
export function formatBusCursor(epoch: string, seq: number): string {
  return `${epoch}:${seq}`;
}

/** Parses a cursor; undefined for anything that is not one. */
export function parseBusCursor(cursor: string): BusCursor | undefined {
  const separator = cursor.lastIndexOf(':');
  if (separator <= 0) return undefined;
  const digits = cursor.slice(separator + 1);
  if (!/^\d{1,15}$/.test(digits)) return undefined;
  return { epoch: cursor.slice(0, separator), seq: Number(digits) };
}

/** A fresh random epoch. */
export function createBusEpoch(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
