import { describe, expect, it } from 'vitest';
import { createKeyBatcher } from './create-key-batcher';

/** A run whose batches stay pending until released, recording what it was given. */
function controlledRun() {
  const calls: { key: string; items: number[]; release: (error?: Error) => void }[] = [];
  const run = (key: string, items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({
        key,
        items,
        release: (error) =>
          error ? reject(error) : resolve(items.map((item) => `${key}:${item}`)),
      });
    });
  return { calls, run };
}

const settle = async () => {
  for (let turn = 0; turn < 10; turn += 1) await Promise.resolve();
};

describe('createKeyBatcher', () => {
  it('runs the first item of an idle key at once, and batches what arrives meanwhile', async () => {
    const { calls, run } = controlledRun();
    const batcher = createKeyBatcher(run, { maxItems: 3, maxWeight: 100, weight: () => 1 });
    const results = [1, 2, 3, 4, 5].map((item) => batcher.add('a', item));
    expect(calls.map((call) => call.items)).toEqual([[1]]);
    calls[0]?.release();
    await settle();
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]?.release();
    await settle();
    calls[2]?.release();
    await expect(Promise.all(results)).resolves.toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5']);
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('closes a batch at its weight limit, and runs a heavier item alone', async () => {
    const { calls, run } = controlledRun();
    const batcher = createKeyBatcher(run, { maxItems: 10, maxWeight: 10, weight: (item) => item });
    const results = [1, 4, 5, 2, 30, 1].map((item) => batcher.add('a', item));
    for (let round = 0; round < 5; round += 1) {
      calls[round]?.release();
      await settle();
    }
    await expect(Promise.all(results)).resolves.toHaveLength(6);
    expect(calls.map((call) => call.items)).toEqual([[1], [4, 5], [2], [30], [1]]);
  });

  it('keeps keys apart: each runs on its own', async () => {
    const { calls, run } = controlledRun();
    const batcher = createKeyBatcher(run, { maxItems: 10, maxWeight: 100, weight: () => 1 });
    const a = batcher.add('a', 1);
    const b = batcher.add('b', 1);
    expect(calls.map((call) => call.key)).toEqual(['a', 'b']);
    calls[1]?.release();
    await expect(b).resolves.toBe('b:1');
    calls[0]?.release();
    await expect(a).resolves.toBe('a:1');
  });

  it('rejects every item of a failed batch, and goes on with the next one', async () => {
    const { calls, run } = controlledRun();
    const batcher = createKeyBatcher(run, { maxItems: 10, maxWeight: 100, weight: () => 1 });
    const first = batcher.add('a', 1);
    const second = batcher.add('a', 2);
    const third = batcher.add('a', 3);
    calls[0]?.release(new Error('down'));
    await expect(first).rejects.toThrowError('down');
    await settle();
    calls[1]?.release(new Error('still down'));
    await expect(second).rejects.toThrowError('still down');
    await expect(third).rejects.toThrowError('still down');
    const fourth = batcher.add('a', 4);
    calls[2]?.release();
    await expect(fourth).resolves.toBe('a:4');
  });

  it('withdraws an item still waiting: no run gets it, its promise rejects; one in a run stays', async () => {
    const { calls, run } = controlledRun();
    const batcher = createKeyBatcher(run, { maxItems: 10, maxWeight: 100, weight: () => 1 });
    const first = batcher.add('a', 1);
    const second = batcher.add('a', 2);
    const third = batcher.add('a', 3);
    const reason = new Error('gave up');
    expect(batcher.withdraw('a', 2, reason)).toBe(true);
    await expect(second).rejects.toBe(reason);
    expect(batcher.withdraw('a', 1, reason)).toBe(false); // the run in flight has it
    expect(batcher.withdraw('a', 2, reason)).toBe(false);
    expect(batcher.withdraw('b', 3, reason)).toBe(false);
    calls[0]?.release();
    await settle();
    expect(calls.map((call) => call.items)).toEqual([[1], [3]]);
    calls[1]?.release();
    await expect(Promise.all([first, third])).resolves.toEqual(['a:1', 'a:3']);
  });

  it('turns a run that throws synchronously into rejections', async () => {
    const batcher = createKeyBatcher<number, number>(
      () => {
        throw new Error('sync');
      },
      { maxItems: 10, maxWeight: 100, weight: () => 1 },
    );
    await expect(batcher.add('a', 1)).rejects.toThrowError('sync');
    await expect(batcher.add('a', 2)).rejects.toThrowError('sync');
  });
});
