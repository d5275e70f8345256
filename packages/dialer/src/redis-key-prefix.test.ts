import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';
import { createRedisLeadStore } from './create-redis-lead-store';

// ioredis prefixes the keys a script is given, not those the script builds from them: with
// keyPrefix a store would write its indexes beside the prefix and never read them back (the
// tracker's active and ended indexes and analytics log were left unprefixed, the call prefixed).
it("refuses a client with ioredis' keyPrefix when made: the lead store, the locks and the do-not-call list", () => {
  const redis = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
  try {
    for (const make of [
      () => createRedisLeadStore({ redis }),
      () => createRedisDialerLocks({ redis }),
      () => createRedisDoNotCallList({ redis }),
    ]) {
      expect(make).toThrowError(/keyPrefix "app:".*`prefix` option/);
    }
  } finally {
    redis.disconnect();
  }
});
