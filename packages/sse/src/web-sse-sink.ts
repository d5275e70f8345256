import type { SseSession, SseSink } from './sse-session';

/**
 * The fetch handler's response body: the underlying source of its `ReadableStream` and the sink
 * its session writes to, in one object (its methods live on the prototype, not in per-stream
 * closures). The body pulls: the reader (the Node bridge, Next.js) asks for more once the socket
 * took the previous chunks, which is what wakes a session waiting for its client.
 */
export class WebSseSink implements SseSink, UnderlyingDefaultSource<Uint8Array> {
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private waiting: (() => void) | undefined;
  private open = true;

  constructor(private readonly session: SseSession) {}

  // ---- underlying source -------------------------------------------------------------------

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
    this.session.start(this);
  }

  pull(): void {
    this.wake();
  }

  cancel(): void {
    this.open = false;
    this.waiting = undefined;
    this.session.close();
  }

  // ---- sink ----------------------------------------------------------------------------------

  write(chunk: Uint8Array): boolean {
    if (!this.open) return true;
    const controller = this.controller as ReadableStreamDefaultController<Uint8Array>;
    controller.enqueue(chunk);
    return (controller.desiredSize ?? 0) > 0;
  }

  get writable(): boolean {
    return this.open && (this.controller?.desiredSize ?? 0) > 0;
  }

  whenWritable(callback: () => void): void {
    if (!this.open) return;
    if (this.writable) queueMicrotask(callback);
    else this.waiting = callback;
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    this.waiting = undefined;
    this.controller?.close();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
