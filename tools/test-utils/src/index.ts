export { clockFrom, testEventClock, testEventEpoch } from './clock-from';
export type { CollectedEvent } from './collect-bus-events';
export { collectBusEvents } from './collect-bus-events';
export {
  connectTestPostgres,
  dropTables,
  postgresRequired,
  testPostgresUrl,
  uniqueTableName,
} from './connect-test-postgres';
export {
  connectTestRedis,
  deleteKeys,
  redisRequired,
  testRedisUrl,
  uniquePrefix,
} from './connect-test-redis';
export { countEventValidations } from './count-event-validations';
export type { CollectingSink } from './create-collecting-sink';
export { createCollectingSink } from './create-collecting-sink';
export type { Fixture } from './create-fixture-loader';
export { createFixtureLoader } from './create-fixture-loader';
export { openSignedInTab, postFromPage, startForeignSite } from './cross-site-pages';
export { elapseRedisExpiry } from './elapse-redis-expiry';
export { endRedisClient } from './end-redis-client';
export type { EndableRedisClients } from './endable-redis-clients';
export { endableRedisClients } from './endable-redis-clients';
export { expressBehindParsers } from './express-behind-parsers';
export {
  browserRequired,
  chromiumPath,
  launchTestBrowser,
  saveScreenshot,
  screenshotDirectory,
} from './launch-test-browser';
export { closeServers, listen } from './listen';
export { makeCallEvent } from './make-call-event';
export type { ReceivedEvent } from './open-event-source';
export { callEvents, openEventSource } from './open-event-source';
export type { Poison } from './poison-bus';
export { poisonBus } from './poison-bus';
export type { PresenceKillOptions } from './presence-across-processes';
export {
  expectOneOfflineAfterKills,
  presenceKillTimings,
  startChildPresence,
} from './presence-across-processes';
export { refuseRedisWrites } from './refuse-redis-writes';
export type { HeadersOnlyAnswer } from './send-headers-only';
export { sendHeadersOnly } from './send-headers-only';
export type { TestServer } from './serve-for-test';
export { serveForTest, stopTestServers } from './serve-for-test';
export { spawnListeningChild, spawnTypeScript } from './spawn-typescript';
export type { HeartbeatOutage } from './start-heartbeat-outage';
export { startHeartbeatOutage } from './start-heartbeat-outage';
export type { OwnRedisServer } from './start-own-redis-server';
export { startOwnRedisServer, stopOwnRedisServer } from './start-own-redis-server';
export type { PersistentRedisServer } from './start-persistent-redis-server';
export { startPersistentRedisServer } from './start-persistent-redis-server';
export type {
  RedisClusterNode,
  RedisClusterProcess,
  RedisSlotMigration,
} from './start-redis-cluster';
export { startRedisCluster } from './start-redis-cluster';
export type { RedisServerProcess } from './start-redis-server';
export { freePort, startRedisServer } from './start-redis-server';
export type {
  ReceivedWebhook,
  ReceiverAnswer,
  WebhookReceiver,
} from './start-webhook-receiver';
export { startWebhookReceiver } from './start-webhook-receiver';
export { hasExited, killAndWait, waitForExit } from './wait-for-exit';
