import {
  type CallEvent,
  callEventLimits,
  checkJsonLimits,
  InvalidEventError,
  type JsonLimits,
} from '@calltrack/core';
import type { CallDetailName } from './call-details';

const kib = 1024;

/**
 * What the tracker needs of an event so that, published with the call's snapshot in
 * `data.call`, it still passes core's schema and limits (`callEventLimits`): the bus refuses an
 * event that does not, and by then the store has applied it.
 */
export const callSnapshotBudget = {
  /**
   * Room kept in an event's `data` for the snapshot the tracker adds: its fixed fields (about
   * 3 KiB at most) and the details below, at most 96 KiB together.
   */
  snapshotLength: 128 * kib,
  /** Longest JSON of a detail kept on the call; a longer one stays on its event only. */
  detailLength: {
    durationMs: 32,
    answeredBy: 8 * kib,
    recordingUrl: 8 * kib,
    recordingDurationMs: 32,
    analysis: 64 * kib,
    cost: 8 * kib,
    disconnectionReason: 8 * kib,
    reason: 8 * kib,
  } satisfies Record<CallDetailName, number>,
  /** Deepest nesting of a detail kept on the call: `data.call.<detail>` is two levels into `data`. */
  detailDepth: callEventLimits.data.maxDepth - 2,
  /** The earliest and latest `occurredAt` a snapshot can carry (ISO 8601 has four-digit years). */
  earliestTime: Date.parse('0000-01-01T00:00:00.000Z'),
  latestTime: Date.parse('9999-12-31T23:59:59.999Z'),
} as const;

/** Core's limits on `data`, less the room kept for the snapshot. */
const trackableDataLimits: JsonLimits = {
  maxDepth: callEventLimits.data.maxDepth,
  maxLength: callEventLimits.data.maxLength - callSnapshotBudget.snapshotLength,
};

/** The limits of each detail kept on the call. */
const detailLimits = Object.fromEntries(
  Object.entries(callSnapshotBudget.detailLength).map(([name, maxLength]) => [
    name,
    { maxDepth: callSnapshotBudget.detailDepth, maxLength },
  ]),
) as Record<CallDetailName, JsonLimits>;

/**
 * Throws `InvalidEventError` (400) for a valid event the tracker could not publish with a
 * snapshot: one whose `occurredAt` falls outside the years 0000–9999 once in UTC (the snapshot's
 * times are UTC), or whose `data` leaves no room for the snapshot. Returns `occurredAt` in ms.
 */
export function checkTrackableEvent(event: CallEvent): number {
  const occurredAt = Date.parse(event.occurredAt);
  if (
    !(occurredAt >= callSnapshotBudget.earliestTime && occurredAt <= callSnapshotBudget.latestTime)
  ) {
    throw new InvalidEventError({
      issues: [{ field: 'occurredAt', message: 'falls outside the years 0000 to 9999 in UTC' }],
    });
  }
  const violation = checkJsonLimits(event.data, trackableDataLimits);
  if (violation) {
    throw new InvalidEventError({
      issues: [
        {
          field: ['data', ...violation.path].join('.'),
          message: `${violation.message}: the tracker keeps ${callSnapshotBudget.snapshotLength / kib} KiB of data for the call snapshot it adds`,
        },
      ],
    });
  }
  return occurredAt;
}

/**
 * Whether a detail is small and shallow enough to be kept on the call (so carried by every later
 * snapshot). One that is not stays on its own event, as a transcript does.
 */
export function keepsCallDetail(name: CallDetailName, value: unknown): boolean {
  return checkJsonLimits(value, detailLimits[name]) === undefined;
}
