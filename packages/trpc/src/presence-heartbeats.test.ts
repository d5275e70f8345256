import type { PresenceRegistration } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { createPresenceHeartbeats, type HeartbeatTimers } from './presence-heartbeats';

describe('createPresenceHeartbeats', () => {
  it('runs on timers that are plain numbers (no unref), as on Deno, Bun and edge runtimes', async () => {
    const running = new Map<number, () => void>();
    const timers: HeartbeatTimers = {
      setInterval(callback) {
        running.set(running.size + 1, callback);
        return running.size;
      },
      clearInterval(timer) {
        running.delete(timer as number);
      },
    };
    const errors: unknown[] = [];
    const heartbeats = createPresenceHeartbeats(10_000, (error) => errors.push(error), timers);
    let beats = 0;
    const registration = {
      heartbeat: async () => {
        beats += 1;
      },
    } as unknown as PresenceRegistration;
    heartbeats.add(registration);
    expect(running.size).toBe(1);
    for (const tick of running.values()) tick();
    expect(beats).toBe(1);
    heartbeats.delete(registration);
    expect(running.size).toBe(0);
    expect(errors).toEqual([]);
  });
});
