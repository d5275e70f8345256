// After a restart or SCRIPT FLUSH, concurrent calls of a script that all meet NOSCRIPT load it
// once between them, on a redis-server of this file's own (its command statistics are its own).
import {
  type OwnRedisServer,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineRedisScript, runRedisScript } from './run-redis-script';

let own: OwnRedisServer = {};
let redis: Redis | undefined;
beforeAll(async () => {
  own = await startOwnRedisServer();
  if (own.server) redis = new Redis(own.server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis?.disconnect();
  await stopOwnRedisServer(own);
});

/** Calls per command since the last CONFIG RESETSTAT (`eval`, `evalsha`, `script|load`). */
async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of (await admin.info('commandstats')).matchAll(
    /^cmdstat_([^:]+):calls=(\d+)/gm,
  )) {
    calls[match[1] as string] = Number(match[2]);
  }
  return calls;
}

// A script of some size, as the bus's publish script is (its source crosses the wire per EVAL).
const script = defineRedisScript(
  `-- ${'padding '.repeat(2_000)}\nreturn redis.call('INCR', KEYS[1]) .. ':' .. ARGV[1]`,
);

describe('runRedisScript', () => {
  it('loads a script once for 1,000 concurrent calls that meet NOSCRIPT after SCRIPT FLUSH', async () => {
    if (!redis || !own.admin) return;
    await runRedisScript(redis, script, ['counter'], ['warm']);
    await own.admin.script('FLUSH');
    await own.admin.config('RESETSTAT');
    const replies = await Promise.all(
      Array.from({ length: 1_000 }, (_, index) =>
        runRedisScript(redis as Redis, script, ['counter'], [index]),
      ),
    );
    // Every call ran, once.
    expect(new Set(replies.map((reply) => String(reply).split(':')[0])).size).toBe(1_000);
    const calls = await commandCalls(own.admin);
    // The source crossed the wire once (a load), not once per call.
    expect((calls.eval ?? 0) + (calls['script|load'] ?? 0)).toBe(1);
  });

  it('falls back to EVAL when the retried EVALSHA meets NOSCRIPT again (loaded on another node)', async () => {
    if (!redis || !own.admin) return;
    const admin = own.admin;
    // A client whose loading EVAL leaves the script where its retries do not run, as on a Cluster
    // whose slot moved meanwhile: the script is gone again before the retry.
    const elsewhere = new Redis(own.server?.url as string, { maxRetriesPerRequest: 1 });
    const patched = elsewhere as unknown as { eval: (...args: unknown[]) => Promise<unknown> };
    const evaluate = patched.eval.bind(elsewhere);
    let evals = 0;
    patched.eval = async (...args) => {
      evals += 1;
      const reply = await evaluate(...args);
      if (evals === 1) await admin.script('FLUSH');
      return reply;
    };
    try {
      await admin.script('FLUSH');
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          runRedisScript(elsewhere, script, ['other'], [index]),
        ),
      );
      expect(new Set(replies.map((reply) => String(reply).split(':')[0])).size).toBe(20);
      // The loading one, then each of the 19 whose retry met NOSCRIPT.
      expect(evals).toBe(20);
    } finally {
      elsewhere.disconnect();
    }
  });
});
