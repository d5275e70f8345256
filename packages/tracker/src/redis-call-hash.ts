import { callDetailNames } from './call-details';

/**
 * The layout of one call in the Redis store: a hash at `<prefix>:{<tenant>}:call:<callId>`,
 * holding what `StoredCall` holds in memory.
 *
 * - Identity and state, one field each, as text: `tenantId`, `callId`, `provider`, `status`,
 *   `branchId`, `agentId`, `userId`, `direction`, `from`, `to`; times in ms since the epoch:
 *   `startedAt`, `answeredAt`, `endedAt` (provider clock), `createdAt`, `updatedAt` (tracker
 *   clock); `version`, an integer.
 * - `d:<detail>`: a detail (see `callDetailNames`) as JSON, exactly as the event carried it.
 * - `p:<detail>`: that detail's timeline position, `<sequence>:<occurredAt ms>:<eventId>` (the
 *   sequence empty when the event had none); the event id is last, so it may contain colons.
 * - `e:<eventId>`: the event's mark, see {@link redisEventMarks}.
 * - `endEventId`: the id of the `call.ended` that ended the call; `endEvent`: that event as
 *   JSON, kept until its publish is confirmed (the outbox republishes from it).
 * - `activationEventId`: the id of the event that made the call active (a retry of it runs the
 *   activation's alert checks).
 * - `a:<rule>`: the call's alert `rule` was taken (`claimCallAlert`); it lives as the call does.
 * - `expiresAt`: when an inactive call is forgotten (ms, tracker clock), written with its TTL:
 *   reads at a later time leave it out before Redis's clock drops the key. Stale on an active call.
 */
export const redisCallHashPrefixes = {
  detail: 'd:',
  position: 'p:',
  eventMark: 'e:',
  alert: 'a:',
} as const;

/**
 * What an `e:<eventId>` field holds, the Redis form of `StoredEventMark`:
 * - a number: the lease deadline (ms) of a change whose publish is not confirmed yet; `0` after
 *   a failed publish, so the next retry finds the lease over and publishes at once;
 * - `d` (done): published and confirmed, a repeat is a plain duplicate;
 * - `i` (ignored): recorded, it changed nothing, a repeat is a plain duplicate.
 */
export const redisEventMarks = { done: 'd', ignored: 'i' } as const;

/** The hash fields a call snapshot is read from, in this order (one `HMGET`). */
export const redisCallSnapshotFields: readonly string[] = [
  'tenantId',
  'callId',
  'provider',
  'status',
  'branchId',
  'agentId',
  'userId',
  'direction',
  'from',
  'to',
  'startedAt',
  'answeredAt',
  'endedAt',
  'createdAt',
  'updatedAt',
  'version',
  ...callDetailNames.map((name) => `${redisCallHashPrefixes.detail}${name}`),
];
