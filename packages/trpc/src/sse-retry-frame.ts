import { checkTimerDelayMs } from '@calltrack/core/internal';

/** Options of `withSseRetry` and `withNodeSseRetry`. */
export interface SseRetryOptions {
  /**
   * The longest a client waits before it reconnects a dropped subscription (`retry:`): each
   * response gets a random delay between half of it and all of it, so clients of a restarted
   * server do not all come back at once. Default 1,000 ms.
   */
  retryMs?: number;
}

const eventStream = /^\s*text\/event-stream\b/i;

/** True for a `Content-Type` of Server-Sent Events. */
export function isEventStream(contentType: unknown): boolean {
  return typeof contentType === 'string' && eventStream.test(contentType);
}

/** Checks the options; returns the `retryMs` to use. */
export function resolveRetryMs(options: SseRetryOptions | undefined, name: string): number {
  return checkTimerDelayMs(name, 'retryMs', options?.retryMs ?? undefined, 1000, 0);
}

/** A `retry:` frame with a delay between half of `retryMs` and all of it. */
export function sseRetryFrame(retryMs: number): string {
  const retry = retryMs - Math.floor(Math.random() * (Math.floor(retryMs / 2) + 1));
  return `retry: ${retry}\n\n`;
}
