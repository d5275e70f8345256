import { CallTrackError } from '@calltrack/core';
import type { CallTrackSocketSkippedEvent } from './call-track-socket-error-info';

const name = 'CallTrack_UndeliverableEventError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * One event could not be sent to Socket.IO clients (encoding it, or working out its rooms or its
 * lifecycle event, threw). It was skipped, the connections it was meant for got `reset`
 * (`event-skipped`), and delivery went on with the next event; reported to
 * `onError`, never thrown to your code.
 */
export class UndeliverableEventError extends CallTrackError {
  private readonly [symbol] = true;
  /** The skipped event's bus cursor. */
  readonly cursor: string;
  /** The event's tenant, when it could be read. */
  readonly tenantId: string | undefined;
  /** The skipped event's id, when it could be read. */
  readonly eventId: string | undefined;
  /** The skipped event's type, when it could be read. */
  readonly type: string | undefined;

  constructor(options: { cursor: string; event: unknown; cause: unknown }) {
    const { cursor, event, cause } = options;
    const tenantId = readString(event, 'tenantId');
    const eventId = readString(event, 'id');
    const type = readString(event, 'type');
    super({
      message: `Event ${eventId ?? '(unreadable id)'} at cursor ${cursor} of tenant ${
        tenantId ?? '(unreadable)'
      } could not be sent to Socket.IO clients and was skipped: ${describe(cause)}`,
      code: 'undeliverable_event',
      status: 500,
      cause,
    });
    this.name = name;
    this.cursor = cursor;
    this.tenantId = tenantId;
    this.eventId = eventId;
    this.type = type;
  }

  static override isInstance(error: unknown): error is UndeliverableEventError {
    return CallTrackError.hasMarker(error, marker);
  }
}

/** The skipped event, as `onError`'s `info.skipped` reports it. */
export function skippedEventOf(error: UndeliverableEventError): CallTrackSocketSkippedEvent {
  const { cursor, eventId, type, tenantId } = error;
  return {
    cursor,
    ...(eventId === undefined ? {} : { eventId }),
    ...(type === undefined ? {} : { type }),
    ...(tenantId === undefined ? {} : { tenantId }),
  };
}

// The event is the one that just failed: any of its fields may throw when read.
function readString(event: unknown, key: string): string | undefined {
  try {
    const value = (event as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function describe(cause: unknown): string {
  try {
    return cause instanceof Error ? cause.message : String(cause);
  } catch {
    return '(unprintable error)';
  }
}
