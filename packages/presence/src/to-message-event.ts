import type { CallEvent } from '@calltrack/core';
import { userAudience } from '@calltrack/core';
import { messageEventId } from './presence-event-id';
import type { QueuedMessage } from './queued-message';

/** The `data` of a `user.message` event. */
export interface UserMessageData {
  /** Marks the event user-addressed: only `userId`'s connections receive it. */
  audience: typeof userAudience;
  /** The id `send` returned. */
  messageId: string;
  /** Position in the user's messages: consecutive unless the queue dropped some. */
  sequence: number;
  /** The message as sent. */
  message: unknown;
}

/** The user-addressed `user.message` event of a queued message (the same on every republish). */
export function toMessageEvent(
  tenantId: string,
  userId: string,
  message: QueuedMessage,
): CallEvent {
  const sentAt = new Date(message.sentAt).toISOString();
  const data: UserMessageData = {
    audience: userAudience,
    messageId: message.messageId,
    sequence: message.sequence,
    message: JSON.parse(message.body) as unknown,
  };
  return {
    id: messageEventId(userId, message.messageId),
    type: 'user.message',
    tenantId,
    userId,
    provider: 'calltrack',
    occurredAt: sentAt,
    receivedAt: sentAt,
    data: data as unknown as CallEvent['data'],
  };
}
