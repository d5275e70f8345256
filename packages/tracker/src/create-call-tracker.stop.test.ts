// The scaling guide's shutdown order: `await tracker.stop(); // waits for publish confirmations
// in flight`, before the bus and the client are closed. With a bus other than the Redis bus on
// the store's Redis, each publish is confirmed to the store afterwards, in the background.
import { createMemoryBus } from '@calltrack/bus';
import { describe, expect, it } from 'vitest';
import type { CallStore } from './call-store';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { callLifecycle, t0 } from './make-call-event';

describe('tracker.stop()', () => {
  it('waits for the publish confirmations still in flight, and closes neither bus nor store', async () => {
    const store = createMemoryCallStore();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const confirmed: string[] = [];
    const slowStore: CallStore = {
      ...store,
      async markPublished(key) {
        await held;
        await store.markPublished(key);
        confirmed.push(key.eventId);
      },
    };
    const bus = createMemoryBus();
    const tracker = createCallTracker({
      bus,
      store: slowStore,
      clock: { now: () => t0 },
      logger: {},
    });
    const [queued] = callLifecycle({ callId: 'CA-stop' });
    // Applied and published; its confirmation to the store is still on its way.
    expect(await tracker.ingest(queued!)).toMatchObject({ published: true });
    expect(confirmed).toEqual([]);

    let stopped = false;
    const stopping = tracker.stop().then(() => {
      stopped = true;
    });
    // Everything else settles first: stop() is still waiting for the held confirmation.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);

    release();
    await stopping;
    expect(confirmed).toEqual([queued!.id]);
    // The bus and the store still work: stop() closed neither.
    expect((await bus.publish({ ...queued!, id: 'after-stop' })).duplicate).toBe(false);
    expect(await tracker.getCall('tenant-a', 'CA-stop')).toMatchObject({ status: 'queued' });
    await bus.close();
  });
});
