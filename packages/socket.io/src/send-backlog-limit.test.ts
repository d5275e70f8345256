import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type EngineConnection, SendBacklogLimit } from './send-backlog-limit';

describe('SendBacklogLimit', () => {
  it('says once that the limit is off on an Engine.IO without writeBuffer, instead of silently', () => {
    const errors: unknown[] = [];
    const limit = new SendBacklogLimit(10, 40, (error) => errors.push(error));
    // Another Engine.IO version's socket: the events, no `writeBuffer`.
    const connections = [new EventEmitter(), new EventEmitter()];
    for (const connection of connections) limit.watch(connection as unknown as EngineConnection);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/maxBufferedPackets is off/);
    // Engine.IO's own sockets have it: nothing to say.
    const quiet: unknown[] = [];
    const withBuffer = Object.assign(new EventEmitter(), { writeBuffer: [] });
    new SendBacklogLimit(10, 40, (error) => quiet.push(error)).watch(
      withBuffer as unknown as EngineConnection,
    );
    expect(quiet).toEqual([]);
  });
});
