import { createHash } from 'node:crypto';

/** User ids up to this long are kept as they are in event ids (event ids are at most 256 chars). */
const longUserId = 160;
/** How much of a longer user id its event ids keep, before its hash. */
const keptOfLongUserId = 120;

/**
 * The user's part of an event id: the id itself, or for a longer one, its first 120 characters,
 * `~` and its SHA-1 (hex). That form is longer than 160 characters, so it is never an id kept as
 * it is (a bare hash was: a user id of 40 hex digits shared the event ids of a long one). The
 * Redis scripts count the same UTF-16 units over the id's UTF-8 bytes, so every store gives one
 * user the same ids.
 */
function userPart(userId: string): string {
  if (userId.length <= longUserId) return userId;
  // Never half of a surrogate pair: event ids refuse lone surrogates (user ids have none).
  const last = userId.charCodeAt(keptOfLongUserId - 1);
  const kept = last >= 0xd800 && last <= 0xdbff ? keptOfLongUserId + 1 : keptOfLongUserId;
  return `${userId.slice(0, kept)}~${createHash('sha1').update(userId).digest('hex')}`;
}

/**
 * The id of a presence transition's event: `presence:<user>:<epoch>:<version>`. The same for
 * every republish of one transition, so the bus drops the copies; a new incarnation of the user
 * (a new `epoch`) never reuses one. The Redis scripts build the same ids.
 */
export function presenceEventId(userId: string, epoch: number, version: number): string {
  return `presence:${userPart(userId)}:${epoch}:${version}`;
}

/** The id of a delivered message's event: `message:<user>:<messageId>`. */
export function messageEventId(userId: string, messageId: string): string {
  return `message:${userPart(userId)}:${messageId}`;
}
