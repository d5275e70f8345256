import { createHash } from 'node:crypto';

/** User ids longer than this are hashed inside event ids (event ids are at most 256 chars). */
const longUserId = 160;

/** The user's part of an event id: the id itself, or its SHA-1 (hex) when it is long. */
function userPart(userId: string): string {
  return userId.length > longUserId ? createHash('sha1').update(userId).digest('hex') : userId;
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
