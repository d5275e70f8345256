import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';
import { registerRedisBusTenant } from './register-redis-bus-tenant';

const redis = await connectTestRedis();
const prefixes: string[] = [];
afterAll(async () => {
  if (!redis) return;
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('registerRedisBusTenant', () => {
  it('announces a tenant the registry had lost with its position, whatever its meta says (a renewal that raced with another)', async () => {
    const prefix = uniquePrefix('bus-register');
    prefixes.push(prefix);
    const registry = redisBusTenantRegistry(prefix);
    const { meta } = redisBusKeys(prefix, 'tenant-a');
    // A live stream whose registration another process renewed a moment ago (`reg` 1), while
    // this process's SADD is the one that found the registry without the tenant.
    await redis!.hset(meta, 'epoch', 'e1', 'seq', '7', 'reg', '1');
    const listener = redis!.duplicate();
    const announced: string[] = [];
    listener.on('smessage', (_channel: string, message: string) => announced.push(message));
    await listener.ssubscribe(registry.channel);
    try {
      await registerRedisBusTenant(redis!, prefix, 'tenant-a');
      await redis!.spublish(registry.channel, 'end-of-test');
      await expect.poll(() => announced.includes('end-of-test')).toBe(true);
      expect(announced).toEqual(['tenant-a e1:7', 'end-of-test']);
      expect(await redis!.sismember(registry.key, 'tenant-a')).toBe(1);
      // Already in the registry: nothing to announce.
      await registerRedisBusTenant(redis!, prefix, 'tenant-a');
      await redis!.spublish(registry.channel, 'end-again');
      await expect.poll(() => announced.includes('end-again')).toBe(true);
      expect(announced).toEqual(['tenant-a e1:7', 'end-of-test', 'end-again']);
    } finally {
      listener.disconnect();
    }
  });
});
