import { describe, expect, it } from 'vitest';
import { createConfirmationBatcher } from './create-confirmation-batcher';

describe('createConfirmationBatcher', () => {
  it('confirms what one tick published with one call per tenant', async () => {
    const calls: [string, readonly string[]][] = [];
    const sent: Promise<void>[] = [];
    const batcher = createConfirmationBatcher(
      {
        confirm: async (tenantId, eventIds) => {
          calls.push([tenantId, [...eventIds]]);
        },
      },
      (confirmation) => sent.push(confirmation),
    );
    batcher.add('tenant-a', ['e1']);
    batcher.add('tenant-b', ['e2']);
    batcher.add('tenant-a', ['e3', 'e4']);
    batcher.add('tenant-a', []);
    expect(calls).toEqual([]);
    await Promise.resolve();
    expect(calls).toEqual([
      ['tenant-a', ['e1', 'e3', 'e4']],
      ['tenant-b', ['e2']],
    ]);
    expect(sent).toHaveLength(2);
  });

  it('sends at once on flush, and only once', async () => {
    const calls: string[][] = [];
    const batcher = createConfirmationBatcher(
      { confirm: async (_tenantId, eventIds) => void calls.push([...eventIds]) },
      () => {},
    );
    batcher.add('tenant-a', ['e1']);
    batcher.flush();
    expect(calls).toEqual([['e1']]);
    await Promise.resolve();
    batcher.flush();
    expect(calls).toEqual([['e1']]);
  });
});
