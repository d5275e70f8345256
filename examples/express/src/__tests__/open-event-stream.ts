import { EventSource } from 'eventsource';

/** A frame the test client received from `/api/events`. */
export interface StreamMessage {
  type: 'call' | 'snapshot' | 'reset';
  lastEventId: string;
  // biome-ignore lint/suspicious/noExplicitAny: test payloads are inspected freely
  data: any;
}

/**
 * Opens the app's SSE stream with the real `eventsource` client and records every frame.
 * `until(predicate)` resolves once the frames received so far satisfy it.
 */
export function openEventStream(baseUrl: string, query = '') {
  const received: StreamMessage[] = [];
  const checks = new Set<() => void>();
  let failure: Error | undefined;
  const source = new EventSource(`${baseUrl}/api/events${query}`);
  const notify = () => {
    for (const check of [...checks]) check();
  };
  for (const type of ['call', 'snapshot', 'reset'] as const) {
    source.addEventListener(type, (event) => {
      received.push({ type, lastEventId: event.lastEventId, data: JSON.parse(event.data) });
      notify();
    });
  }
  source.addEventListener('error', (event) => {
    if (source.readyState === source.CLOSED) {
      failure = new Error(`EventSource failed: ${event.message ?? event.code}`);
      notify();
    }
  });

  const until = (predicate: (messages: StreamMessage[]) => boolean): Promise<StreamMessage[]> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(received)) {
          checks.delete(check);
          resolve(received);
        } else if (failure) {
          checks.delete(check);
          reject(failure);
        }
      };
      checks.add(check);
      check();
    });

  /** The call events of one call, in arrival order. */
  const eventsOf = (callId: string) =>
    received
      .filter((message) => message.type === 'call' && message.data.callId === callId)
      .map((message) => message.data);

  return { source, received, until, eventsOf, close: () => source.close() };
}

/** True once a `call.ended` of `callId` arrived. */
export const endedCall = (callId: string) => (messages: StreamMessage[]) =>
  messages.some(
    (message) =>
      message.type === 'call' &&
      message.data.callId === callId &&
      message.data.type === 'call.ended',
  );
