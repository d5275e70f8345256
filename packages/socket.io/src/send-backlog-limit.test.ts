import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type EngineConnection, SendBacklogLimit } from './send-backlog-limit';

const limits = { maxBufferedPackets: 10, maxBufferedBytes: 1000, maxCatchUpPackets: 40 };

describe('SendBacklogLimit', () => {
  it('says once that the limit is off on an Engine.IO without writeBuffer, instead of silently', () => {
    const errors: unknown[] = [];
    const limit = new SendBacklogLimit(limits, (error) => errors.push(error));
    // Another Engine.IO version's socket: the events, no `writeBuffer`.
    const connections = [new EventEmitter(), new EventEmitter()];
    for (const connection of connections) limit.watch(connection as unknown as EngineConnection);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/maxBufferedPackets and maxBufferedBytes are off/);
    // Engine.IO's own sockets have it: nothing to say.
    const quiet: unknown[] = [];
    const withBuffer = Object.assign(new EventEmitter(), { writeBuffer: [] });
    new SendBacklogLimit(limits, (error) => quiet.push(error)).watch(
      withBuffer as unknown as EngineConnection,
    );
    expect(quiet).toEqual([]);
  });

  it('weighs each queue on its own, once per limit, starting again when the transport takes it', async () => {
    // Engine.IO's part: `packetCreate`, then the packet is queued; a flush starts a new queue.
    const connection = Object.assign(new EventEmitter(), {
      writeBuffer: [] as { data: string }[],
      closed: 0,
      close() {
        this.closed += 1;
      },
    });
    const queue = (data: string) => {
      connection.emit('packetCreate', { data });
      connection.writeBuffer.push({ data });
    };
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const limit = { maxBufferedPackets: 100, maxBufferedBytes: 1000, maxCatchUpPackets: 400 };
    // Two namespaces served on one connection: each limit sees every packet.
    for (const each of [limit, limit]) {
      new SendBacklogLimit(each, () => {}).watch(connection as unknown as EngineConnection);
    }
    for (let round = 0; round < 3; round += 1) {
      for (let index = 0; index < 3; index += 1) queue('x'.repeat(300));
      await nextTurn();
      queue('x');
      // The transport took it: 901 bytes in each queue, never 1,000 in one.
      connection.writeBuffer = [];
    }
    expect(connection.closed).toBe(0);
    queue('x'.repeat(600));
    queue('x'.repeat(600));
    queue('x'); // 1,200 bytes wait: noted
    await nextTurn();
    queue('x'); // still waiting a turn later: closed, once per limit
    expect(connection.closed).toBe(2);
  });
});
