// When Redis refuses a script for memory, on a redis-server of this file's own with `noeviction`
// and `maxmemory` reached: only at the script's first command that may grow memory, and only if
// it has written nothing yet; up front for a script with a `#!lua` shebang (Redis 7), which Redis
// 6 cannot compile; and up front with `refuseOutOfMemoryLua` first, on any version.
import {
  type OwnRedisServer,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { refuseOutOfMemoryLua } from './refuse-out-of-memory-lua';
import { defineRedisScript, runRedisScript } from './run-redis-script';

let own: OwnRedisServer = {};
let redis: Redis | undefined;
beforeAll(async () => {
  own = await startOwnRedisServer();
  if (own.server) redis = new Redis(own.server.url, { maxRetriesPerRequest: 1 });
});
afterEach(async () => {
  await own.admin?.config('SET', 'maxmemory', '0');
  await own.admin?.flushall();
});
afterAll(async () => {
  redis?.disconnect();
  await stopOwnRedisServer(own);
});

/** Deletes KEYS[1], then writes KEYS[2]: a script whose first write frees memory. */
const deleteThenWrite =
  "redis.call('DEL', KEYS[1]) redis.call('SET', KEYS[2], 'written') return 'ran'";

const refuseWrites = async (admin: Redis): Promise<void> => {
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  await admin.config('SET', 'maxmemory', '1');
};

const major = async (admin: Redis): Promise<number> =>
  Number(/^redis_version:(\d+)\./m.exec(await admin.info('server'))?.[1]);

describe('a script while Redis is out of memory', () => {
  it('goes through whole when its first write deletes', async () => {
    const { admin } = own;
    if (!admin || !redis) return;
    await admin.set('{t}:old', 'x');
    await refuseWrites(admin);
    const script = defineRedisScript(deleteThenWrite);
    expect(await runRedisScript(redis, script, ['{t}:old', '{t}:new'], [])).toBe('ran');
    expect(await admin.get('{t}:new')).toBe('written');
  });

  it('is refused before it runs with a #!lua shebang (Redis 7 and later)', async () => {
    const { admin } = own;
    if (!admin || !redis || (await major(admin)) < 7) return;
    await admin.set('{t}:old', 'x');
    await refuseWrites(admin);
    const script = defineRedisScript(`#!lua\n${deleteThenWrite}`);
    await expect(runRedisScript(redis, script, ['{t}:old', '{t}:new'], [])).rejects.toThrow(
      /^OOM /,
    );
    expect(await admin.get('{t}:old')).toBe('x');
  });

  it('is refused before it writes with refuseOutOfMemoryLua first, which writes nothing', async () => {
    const { admin } = own;
    if (!admin || !redis) return;
    const script = defineRedisScript(
      `${refuseOutOfMemoryLua("KEYS[1] .. ':oom-check'")}${deleteThenWrite}`,
    );
    await admin.set('{t}:old', 'x');
    await refuseWrites(admin);
    await expect(runRedisScript(redis, script, ['{t}:old', '{t}:new'], [])).rejects.toThrow(
      /OOM command not allowed/,
    );
    expect(await admin.get('{t}:old')).toBe('x');
    expect(await admin.exists('{t}:new')).toBe(0);

    // With memory to spare it runs as before; the check's key is never created.
    await admin.config('SET', 'maxmemory', '0');
    const before = Number(
      /^rdb_changes_since_last_save:(\d+)/m.exec(await admin.info('persistence'))?.[1],
    );
    await admin.del('{t}:old');
    expect(await runRedisScript(redis, script, ['{t}:old', '{t}:new'], [])).toBe('ran');
    expect(await admin.exists('{t}:old:oom-check')).toBe(0);
    // Two changes: the DEL above and the SET (the DEL of a missing key and the check are none).
    const after = Number(
      /^rdb_changes_since_last_save:(\d+)/m.exec(await admin.info('persistence'))?.[1],
    );
    expect(after - before).toBe(2);
  });
});
