// What the Redis bus hands to `onError` carries no Redis command's arguments: ioredis attaches
// them to the error of every command Redis refused, and `onError` reaches logs.
import { BusUnavailableError, sealCallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, makeCallEvent, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisBus } from './create-redis-bus';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus-reported');
afterAll(async () => {
  if (redis) await deleteKeys(redis, prefix);
  redis?.disconnect();
});

describe.skipIf(!redis)('the Redis bus’s reported errors', () => {
  it('reports a refused history read with the command name, without its arguments', async () => {
    const reported: Error[] = [];
    let onReport: () => void = () => {};
    const report = new Promise<void>((resolve) => {
      onReport = resolve;
    });
    const bus = createRedisBus({
      redis: redis!,
      prefix,
      onError: (error) => {
        reported.push(error);
        onReport();
      },
    });
    try {
      const { cursor } = await bus.publish(sealCallEvent(makeCallEvent({ tenantId: 'acme' })));
      // The tenant's stream is no longer a stream: reading history after the cursor is refused
      // (WRONGTYPE), and reported.
      const stream = `${prefix}:{acme}:stream`;
      await redis!.del(stream);
      await redis!.set(stream, 'not a stream');
      const subscription = bus.subscribe({ tenantId: 'acme', after: cursor });
      const iterator = subscription[Symbol.asyncIterator]();
      void iterator.next().catch(() => {});
      await report;
      await iterator.return?.();
      const [error] = reported;
      const command = (error as { command?: { name?: unknown; args?: unknown } }).command;
      expect(error?.message).toMatch(/WRONGTYPE/);
      expect(command?.name).toBeTypeOf('string');
      expect(command?.args).toBeUndefined();
    } finally {
      await bus.close();
    }
  });
  it('rejects a refused publish without the event in the cause’s command arguments', async () => {
    const bus = createRedisBus({ redis: redis!, prefix });
    try {
      // The tenant's meta hash is no hash: the publish script is refused (WRONGTYPE), and
      // ioredis attaches the script call, whose arguments are the events' JSON, to the error.
      await redis!.set(`${prefix}:{refused}:meta`, 'not a hash');
      const event = makeCallEvent({ tenantId: 'refused', from: '+14155550123' });
      const failure = await bus.publish(event).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(BusUnavailableError.isInstance(failure)).toBe(true);
      const cause = (failure as { cause?: { message?: string; command?: unknown } }).cause;
      expect(cause?.message).toMatch(/WRONGTYPE/);
      const command = cause?.command as { name?: unknown; args?: unknown } | undefined;
      expect(command?.name).toBeTypeOf('string');
      expect(command?.args).toBeUndefined();
      expect(JSON.stringify(command)).not.toContain('+14155550123');
    } finally {
      await bus.close();
    }
  });
});
