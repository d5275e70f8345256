import { describe, expect, it } from 'vitest';
import { createHeartbeatWheel, type WheelItem } from './heartbeat-wheel';

interface Item extends WheelItem {
  name: string;
}

const item = (name: string): Item => ({ name, wheelSlot: -1 });

describe('createHeartbeatWheel', () => {
  it('gives each item its first turn after 50–100% of the interval, then one per interval', () => {
    let roll = 0;
    const rolls = [0, 0.5, 0.999];
    const wheel = createHeartbeatWheel<Item>({
      intervalMs: 25_000,
      random: () => rolls[roll++ % rolls.length]!,
    });
    expect(wheel.tickMs).toBe(1000);
    const items = [item('early'), item('middle'), item('late')];
    for (const entry of items) wheel.add(entry);
    const turns = new Map<string, number[]>();
    for (let tick = 1; tick <= 75; tick += 1) {
      for (const due of wheel.tick()) turns.set(due.name, [...(turns.get(due.name) ?? []), tick]);
    }
    // 12.5 s → tick 13; 18.75 s → tick 19; ~25 s → tick 25; then every 25 ticks.
    expect(turns.get('early')).toEqual([13, 38, 63]);
    expect(turns.get('middle')).toEqual([19, 44, 69]);
    expect(turns.get('late')).toEqual([25, 50, 75]);
  });

  it('spreads many items over the interval, and forgets removed ones', () => {
    const wheel = createHeartbeatWheel<Item>({ intervalMs: 25_000 });
    const items = Array.from({ length: 1000 }, (_, index) => item(`i${index}`));
    for (const entry of items) wheel.add(entry);
    wheel.add(items[0]!); // adding twice changes nothing
    expect(wheel.size).toBe(1000);
    const perTick = Array.from({ length: 25 }, () => wheel.tick().length);
    expect(perTick.reduce((sum, count) => sum + count, 0)).toBe(1000);
    expect(perTick.slice(0, 12).every((count) => count === 0)).toBe(true);
    for (const entry of items.slice(0, 400)) wheel.remove(entry);
    wheel.remove(items[0]!);
    expect(wheel.size).toBe(600);
    expect(wheel.items()).toHaveLength(600);
    const next = Array.from({ length: 25 }, () => wheel.tick().length);
    expect(next.reduce((sum, count) => sum + count, 0)).toBe(600);
    expect(items[0]!.wheelSlot).toBe(-1);
  });

  it('never ticks finer than 10 ms', () => {
    const wheel = createHeartbeatWheel<Item>({ intervalMs: 100 });
    expect(wheel.tickMs).toBe(10);
    const entry = item('x');
    wheel.add(entry);
    let ticks = 0;
    while (wheel.tick().length === 0) ticks += 1;
    expect(ticks).toBeGreaterThanOrEqual(4);
    expect(ticks).toBeLessThanOrEqual(9);
  });
});
