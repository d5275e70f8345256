import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';

// ioredis prefixes the keys a script is given, not those the script builds from them: with
// keyPrefix a store would write its indexes beside the prefix and never read them back (the
// tracker's active and ended indexes and analytics log were left unprefixed, the call prefixed).
it("refuses a client with ioredis' keyPrefix when made: the webhook store", () => {
  const redis = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
  try {
    for (const make of [() => createRedisWebhookStore({ redis })]) {
      expect(make).toThrowError(/keyPrefix "app:".*`prefix` option/);
    }
  } finally {
    redis.disconnect();
  }
});
