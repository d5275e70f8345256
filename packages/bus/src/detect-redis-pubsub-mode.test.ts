import { connectTestRedis } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { detectRedisPubSubMode, redisMajorVersion } from './detect-redis-pubsub-mode';

const redis = await connectTestRedis();
afterAll(() => redis?.disconnect());

describe('detectRedisPubSubMode', () => {
  it('reads the major version from INFO server', () => {
    expect(redisMajorVersion('# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n')).toBe(7);
    expect(redisMajorVersion('# Server\r\nredis_version:6.2.14\r\n')).toBe(6);
    expect(redisMajorVersion('# Server\r\nredis_mode:standalone\r\n')).toBeUndefined();
  });
});

describe.skipIf(!redis)('detectRedisPubSubMode on a single Redis', () => {
  it('keeps classic pub/sub, whatever the version', async () => {
    await expect(detectRedisPubSubMode(redis!)).resolves.toBe('classic');
  });
});
