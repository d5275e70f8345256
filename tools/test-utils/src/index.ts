export {
  connectTestRedis,
  deleteKeys,
  redisRequired,
  testRedisUrl,
  uniquePrefix,
} from './connect-test-redis';
export { spawnTypeScript, waitForExit } from './spawn-typescript';
export type { RedisServerProcess } from './start-redis-server';
export { freePort, startRedisServer } from './start-redis-server';
