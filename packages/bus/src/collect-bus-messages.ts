import type { BusMessage, BusSubscription } from './event-bus';

/** Reads `count` messages from a subscription (awaiting each; no timers involved). */
export async function take(subscription: BusSubscription, count: number): Promise<BusMessage[]> {
  const messages: BusMessage[] = [];
  while (messages.length < count) {
    const result = await subscription.next();
    if (result.done) break;
    messages.push(result.value);
  }
  return messages;
}

/** The event ids of the event messages, in order. */
export function eventIds(messages: readonly BusMessage[]): string[] {
  return messages.flatMap((message) => (message.type === 'event' ? [message.event.id] : []));
}
