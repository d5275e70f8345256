import { createMemoryBus } from '@calltrack/bus';
import { type CallEvent, callEventLimits, InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import type { PresenceOptions } from './presence';
import type { PresenceRecord, StoredConnection } from './presence-record';
import { type PresenceEventData, toPresenceEvent } from './to-presence-event';

const t0 = Date.parse('2026-11-21T10:00:00.000Z');
const maxEventData = callEventLimits.data.maxLength;

/** A value of `length` characters as JSON: a string of escapes as far as it can be. */
function escapedText(length: number): string | number {
  if (length < 2) return 7;
  const quotes = Math.floor((length - 2) / 2);
  return '"'.repeat(quotes) + 'x'.repeat(length - 2 - 2 * quotes);
}

/** The `index`-th connection id of 128 characters, each an escape (`"` or `\`) in JSON. */
function escapedConnectionId(index: number): string {
  return index.toString(2).padStart(128, '0').replaceAll('0', '"').replaceAll('1', '\\');
}

function recordingBus() {
  const inner = createMemoryBus({ clock: { now: () => t0 } });
  const accepted: CallEvent[] = [];
  return {
    accepted,
    bus: {
      async publish(event: CallEvent) {
        const result = await inner.publish(event);
        if (!result.duplicate) accepted.push(event);
        return result;
      },
    },
  };
}

const dataOf = (event: CallEvent | undefined) => event?.data as unknown as PresenceEventData;

describe('presence events and the bus limit on data', () => {
  it('fits the largest snapshot any settings it takes allow into one event, escapes included', async () => {
    const tenantId = '"'.repeat(128);
    const userId = '"'.repeat(256);
    for (const [maxConnectionsPerUser, maxDataLength] of [
      [2040, 1],
      [1020, 514],
      [128, 4096],
      [1, 512 * 1024],
    ] as const) {
      const { bus, accepted } = recordingBus();
      const errors: string[] = [];
      const presence = createPresence({
        bus,
        clock: { now: () => t0 },
        autoHeartbeat: false,
        maxConnectionsPerUser,
        maxDataLength,
        logger: { error: (message) => errors.push(message) },
      });
      const data = escapedText(maxDataLength);
      expect(JSON.stringify(data)).toHaveLength(maxDataLength);
      for (let index = 0; index < maxConnectionsPerUser; index += 1) {
        const connectionId = escapedConnectionId(index);
        await presence.connect({ tenantId, userId, connectionId, data });
      }
      await presence.setState(tenantId, userId, '"'.repeat(64));
      const updated = accepted.at(-1);
      expect(updated?.type, `${maxConnectionsPerUser} × ${maxDataLength}`).toBe('presence.updated');
      expect(errors).toEqual([]);
      const presenceData = dataOf(updated);
      expect(presenceData.presence.connections).toHaveLength(maxConnectionsPerUser);
      expect(presenceData.presence.connections.every((member) => member.data === data)).toBe(true);
      // The bound the settings are checked against: data, 512 a connection, 2,048 the rest.
      const length = JSON.stringify(updated?.data).length;
      expect(length).toBeLessThanOrEqual(maxConnectionsPerUser * (maxDataLength + 512) + 2048);
      expect(length).toBeLessThanOrEqual(maxEventData);
    }
  });

  it('refuses settings under which a snapshot could outgrow an event', () => {
    const { bus } = recordingBus();
    const refused: Partial<PresenceOptions>[] = [
      { maxConnectionsPerUser: 2041, maxDataLength: 1 },
      { maxConnectionsPerUser: 1021, maxDataLength: 514 },
      { maxConnectionsPerUser: 128, maxDataLength: 4097 },
      { maxDataLength: 512 * 1024 + 1 },
    ];
    for (const options of refused) {
      expect(() => createPresence({ bus, ...options }), JSON.stringify(options)).toThrow(
        InvalidArgumentError,
      );
    }
    for (const [maxConnectionsPerUser, maxDataLength] of [
      [2040, 1],
      [1020, 514],
      [128, 4096],
    ]) {
      expect(() => createPresence({ bus, maxConnectionsPerUser, maxDataLength })).not.toThrow();
    }
  });

  it('publishes a snapshot without the data of leaving connections when processes with other settings outgrew an event', async () => {
    const { bus, accepted } = recordingBus();
    const errors: string[] = [];
    const store = createMemoryPresenceStore();
    const options = {
      bus,
      store,
      clock: { now: () => t0 },
      autoHeartbeat: false,
      logger: { error: (message: string) => errors.push(message) },
    };
    // A rolling deploy: the old processes took little data on many connections, the new ones
    // much data on a few. Each one's settings fit an event; together they do not.
    const old = createPresence({ ...options, maxConnectionsPerUser: 512, maxDataLength: 1024 });
    const next = createPresence({ ...options, maxConnectionsPerUser: 16, maxDataLength: 32_768 });
    const big = escapedText(32_768);
    for (let index = 0; index < 16; index += 1) {
      const connection = await next.connect({
        tenantId: 'tenant-a',
        userId: 'u1',
        connectionId: `big-${index}`,
        data: big,
      });
      await connection.disconnect();
    }
    const small = escapedText(1024);
    for (let index = 0; index < 496; index += 1) {
      await old.connect({
        tenantId: 'tenant-a',
        userId: 'u1',
        connectionId: `small-${index}`,
        data: small,
      });
    }
    await old.setState('tenant-a', 'u1', 'break');
    expect(errors).toEqual([]);
    const updated = accepted.at(-1);
    expect(updated?.type).toBe('presence.updated');
    const { presence } = dataOf(updated);
    expect(presence.state).toBe('break');
    expect(presence.connections).toHaveLength(512);
    for (const member of presence.connections) {
      expect(member.data, member.connectionId).toBe(member.leaving ? undefined : small);
    }
    // Reads are not events: they still show every connection's data.
    const read = await old.getPresence('tenant-a', 'u1');
    expect(read.connections.filter((member) => member.data === big)).toHaveLength(16);
  });

  it('leaves out every connection’s data, then the newest connections, when that is what fits', () => {
    const at = t0;
    const connection = (index: number, leaving: boolean, data?: string): StoredConnection => ({
      connectionId: `c${String(index).padStart(5, '0')}`,
      connectedAt: at - 10_000 + index,
      lastSeenAt: at,
      expiresAt: at + 1000,
      idleAt: at + 1000,
      away: false,
      leaving,
      ...(data === undefined ? {} : { data }),
    });
    const eventOf = (connections: StoredConnection[]) => {
      const record: PresenceRecord = {
        tenantId: 'tenant-a',
        userId: 'u1',
        status: 'online',
        version: at + 1,
        epoch: at,
        connections,
      };
      return toPresenceEvent(
        {
          eventId: `presence:u1:${at}:${at + 1}`,
          type: 'presence.updated',
          tenantId: 'tenant-a',
          userId: 'u1',
          previousStatus: 'online',
          at,
          record,
        },
        'available',
      );
    };
    // Live connections whose data alone is over the limit: no data at all.
    const heavy = JSON.stringify('x'.repeat(100_000));
    const withoutData = dataOf(
      eventOf(Array.from({ length: 12 }, (_, index) => connection(index, false, heavy))),
    ).presence;
    expect(withoutData.connections).toHaveLength(12);
    expect(withoutData.connections.some((member) => 'data' in member)).toBe(false);
    // More connections than an event holds (a store that ignores the limit): the oldest.
    const many = eventOf(Array.from({ length: 5000 }, (_, index) => connection(index, false)));
    const kept = dataOf(many).presence.connections;
    expect(kept.length).toBeGreaterThan(1000);
    expect(kept.length).toBeLessThan(5000);
    expect(kept.map((member) => member.connectionId)).toEqual(
      Array.from({ length: kept.length }, (_, index) => connection(index, false).connectionId),
    );
    expect(JSON.stringify(many.data).length).toBeLessThanOrEqual(maxEventData);
    // The same transition always makes the same event (a republish is dropped by id as a copy).
    expect(eventOf(Array.from({ length: 5000 }, (_, index) => connection(index, false)))).toEqual(
      many,
    );
  });
});
