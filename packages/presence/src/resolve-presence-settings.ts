import { InvalidArgumentError } from '@calltrack/core';
import { checkTimerDelayMs } from '@calltrack/core/internal';
import {
  connectionLengthBound,
  maxEventDataLength,
  snapshotLengthBound,
} from './fit-presence-record';
import type { PresenceOptions } from './presence';
import type { PresenceStoreSettings } from './presence-store';

/** Everything {@link PresenceOptions} resolves to. */
export interface ResolvedPresenceSettings {
  store: PresenceStoreSettings;
  heartbeatIntervalMs: number;
  sweepIntervalMs: number;
  autoHeartbeat: boolean;
  maxDataLength: number;
  maxMessageLength: number;
  initialState: string;
  availableStates: ReadonlySet<string>;
}

const hour = 3_600_000;
/** Room for connection data in one event's `data` (the bus takes 1 MiB; half is kept spare). */
const maxSnapshotData = 512 * 1024;

/** Resolves and checks the options' timings and bounds; throws `InvalidArgumentError`. */
export function resolvePresenceSettings(options: PresenceOptions): ResolvedPresenceSettings {
  const heartbeatIntervalMs = positive(options.heartbeatIntervalMs, 25_000, 'heartbeatIntervalMs');
  const awayAfterMs = positive(
    options.awayAfterMs,
    Math.round(heartbeatIntervalMs * 1.6),
    'awayAfterMs',
  );
  const connectionTtlMs = positive(
    options.connectionTtlMs,
    Math.round(heartbeatIntervalMs * 2.4),
    'connectionTtlMs',
  );
  if (awayAfterMs <= heartbeatIntervalMs || connectionTtlMs <= heartbeatIntervalMs) {
    throw new InvalidArgumentError({
      message:
        'awayAfterMs and connectionTtlMs must be longer than heartbeatIntervalMs, or every connection would go away or expire between two heartbeats.',
    });
  }
  const leaveDelayMs = options.leaveDelayMs ?? 15_000;
  if (!Number.isInteger(leaveDelayMs) || leaveDelayMs < 0) {
    throw new InvalidArgumentError({ message: 'leaveDelayMs must be an integer ≥ 0.' });
  }
  const queue = options.queue ?? {};
  const initialState = options.initialState ?? 'available';
  const availableStates = options.availableStates ?? ['available'];
  if (
    typeof initialState !== 'string' ||
    initialState === '' ||
    !Array.isArray(availableStates) ||
    availableStates.some((state) => typeof state !== 'string' || state === '')
  ) {
    throw new InvalidArgumentError({
      message: 'initialState and availableStates must be non-empty strings.',
    });
  }
  const maxConnectionsPerUser = positive(
    options.maxConnectionsPerUser,
    16,
    'maxConnectionsPerUser',
  );
  const maxDataLength = positive(options.maxDataLength, 4096, 'maxDataLength');
  const maxMessageLength = positive(queue.maxMessageLength, 65_536, 'queue.maxMessageLength');
  // Every event must fit the bus's 1 MiB limit on `data`: a snapshot carries every connection
  // (leaving ones too), each with its data, a message event one message.
  if (
    maxConnectionsPerUser * maxDataLength > maxSnapshotData ||
    maxMessageLength > maxSnapshotData ||
    snapshotLengthBound + maxConnectionsPerUser * (connectionLengthBound + maxDataLength) >
      maxEventDataLength
  ) {
    throw new InvalidArgumentError({
      message: `maxConnectionsPerUser × maxDataLength and queue.maxMessageLength must stay within ${maxSnapshotData} characters, and a snapshot of every connection within an event: ${snapshotLengthBound} + maxConnectionsPerUser × (maxDataLength + ${connectionLengthBound}) within ${maxEventDataLength} (events are at most 1 MiB).`,
    });
  }
  return {
    store: {
      connectionTtlMs,
      awayAfterMs,
      leaveDelayMs,
      publishLeaseMs: positive(options.publishLeaseMs, 30_000, 'publishLeaseMs'),
      offlineRetentionMs: positive(options.offlineRetentionMs, 24 * hour, 'offlineRetentionMs'),
      maxConnectionsPerUser,
      queueMaxMessages: positive(queue.maxMessages, 1000, 'queue.maxMessages'),
      queueMaxAgeMs: positive(queue.maxAgeMs, 24 * hour, 'queue.maxAgeMs'),
      deliveryBatchSize: 100,
    },
    heartbeatIntervalMs,
    // A timer's delay: past 2^31 - 1 ms, setInterval would sweep every millisecond.
    sweepIntervalMs: checkTimerDelayMs(
      'createPresence',
      'sweepIntervalMs',
      options.sweepIntervalMs,
      5_000,
    ),
    autoHeartbeat: options.autoHeartbeat ?? true,
    maxDataLength,
    maxMessageLength,
    initialState,
    availableStates: new Set(availableStates),
  };
}

/** A positive integer option (times are whole milliseconds: the Redis scripts format them). */
function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && Number.isInteger(value) && value > 0)) {
    throw new InvalidArgumentError({ message: `${name} must be a positive integer.` });
  }
  return value;
}
