import { connectTestRedis } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisNodeLinks, type RedisNodeLink } from './create-redis-node-links';

const redis = await connectTestRedis();
afterAll(() => redis?.disconnect());

describe.skipIf(!redis)('createRedisNodeLinks', () => {
  it('replaces a subscriber connection that ended without being dropped, and says so', async () => {
    const reported: unknown[] = [];
    let replace: (link: RedisNodeLink) => void = () => {};
    const replaced = new Promise<RedisNodeLink>((resolve) => {
      replace = resolve;
    });
    const links = createRedisNodeLinks({
      client: redis!,
      onMessage: () => {},
      onPatternMessage: () => {},
      onResubscribed: () => {},
      onStateUnknown: (link) => replace(link),
      onTopologyHint: () => {},
      isClosed: () => false,
      report: (error) => reported.push(error),
    });
    const link = links.open('single')!;
    // Only `drop` ends ours; anything else ending one (here, a disconnect of its own) must not
    // leave its subscriptions deaf.
    link.connection.disconnect();
    expect(await replaced).toBe(link);
    expect(String(reported[0])).toMatch(/subscriber connection to single ended/);
    links.drop(link);
  });

  it('does not replace a connection it dropped itself', async () => {
    const unknown: RedisNodeLink[] = [];
    const links = createRedisNodeLinks({
      client: redis!,
      onMessage: () => {},
      onPatternMessage: () => {},
      onResubscribed: () => {},
      onStateUnknown: (link) => unknown.push(link),
      onTopologyHint: () => {},
      isClosed: () => false,
      report: () => {},
    });
    const link = links.open('single')!;
    const ended = new Promise((resolve) => link.connection.once('end', resolve));
    links.drop(link);
    await ended;
    expect(unknown).toEqual([]);
    expect(links.list()).toEqual([]);
  });
});
