import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryDoNotCallList } from './create-memory-do-not-call-list';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';
import type { DoNotCallList } from './do-not-call-list';

const redis = await connectTestRedis();
const prefix = uniquePrefix('dialer-dnc');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const lists: [string, () => DoNotCallList][] = [['memory', () => createMemoryDoNotCallList()]];
if (redis) lists.push(['redis', () => createRedisDoNotCallList({ redis, prefix })]);

describe.each(lists)('the %s do-not-call list', (_name, createList) => {
  it('refuses a number that is not E.164, which no lead could match (the gates dial E.164 only), and adds none of the batch', async () => {
    const list = createList();
    // As a person types them: each is +14155550100, which the dialer would call.
    for (const number of [
      '+1 415 555 0100',
      '+1 (415) 555-0100',
      '14155550100',
      '(415) 555-0100',
      '+14155550100 ',
      '+1415555０100',
    ]) {
      const refused = list.add('acme', ['+14155550199', number]);
      await expect(refused).rejects.toMatchObject({ code: 'invalid_argument', status: 400 });
      // The error names the position, not the number (no phone number in errors or logs).
      await expect(refused).rejects.toThrow(/index 1/);
      await expect(refused).rejects.not.toThrow(number);
    }
    expect(await list.has('acme', '+14155550199')).toBe(false);
    await list.add('acme', ['+14155550100']);
    expect(await list.has('acme', '+14155550100')).toBe(true);
    // What an earlier version let in can still be taken out.
    await list.remove('acme', ['+1 415 555 0100', '+14155550100']);
    expect(await list.has('acme', '+14155550100')).toBe(false);
  });
});
