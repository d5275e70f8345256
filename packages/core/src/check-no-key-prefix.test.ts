import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { checkNoKeyPrefix } from './check-no-key-prefix';
import { InvalidArgumentError } from './errors/invalid-argument-error';

describe('checkNoKeyPrefix', () => {
  it("refuses a Redis or a Cluster client with ioredis' keyPrefix, naming who refused it", () => {
    const clients = [
      new Redis({ lazyConnect: true, keyPrefix: 'app:' }),
      new Cluster([{ host: '127.0.0.1', port: 6379 }], { lazyConnect: true, keyPrefix: 'app:' }),
      new Cluster([{ host: '127.0.0.1', port: 6379 }], {
        lazyConnect: true,
        redisOptions: { keyPrefix: 'app:' },
      }),
    ];
    for (const client of clients) {
      expect(() => checkNoKeyPrefix('createThing', client)).toThrowError(InvalidArgumentError);
      expect(() => checkNoKeyPrefix('createThing', client)).toThrowError(
        /^createThing: the ioredis client has keyPrefix "app:".*`prefix` option/,
      );
      client.disconnect();
    }
  });

  it('takes a client without keyPrefix', () => {
    const client = new Redis({ lazyConnect: true });
    expect(() => checkNoKeyPrefix('createThing', client)).not.toThrow();
    client.disconnect();
  });
});
