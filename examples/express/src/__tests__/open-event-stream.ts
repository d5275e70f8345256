import { openEventSource, type ReceivedEvent } from '@calltrack/test-utils';

/** A frame the test client received from `/api/events`. */
export type StreamMessage = ReceivedEvent;

/** Opens the app's SSE stream (`/api/events`) with the real `eventsource` client. */
export function openEventStream(baseUrl: string, query = '') {
  const stream = openEventSource(`${baseUrl}/api/events${query}`);
  /** The call events of one call, in arrival order. */
  const eventsOf = (callId: string) =>
    stream.received
      .filter((message) => message.type === 'call' && message.data.callId === callId)
      .map((message) => message.data);
  return { ...stream, eventsOf };
}

/** True once a `call.ended` of `callId` arrived. */
export const endedCall = (callId: string) => (messages: StreamMessage[]) =>
  messages.some(
    (message) =>
      message.type === 'call' &&
      message.data.callId === callId &&
      message.data.type === 'call.ended',
  );
