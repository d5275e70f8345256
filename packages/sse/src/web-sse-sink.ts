import type { SseSession, SseSink } from './sse-session';

/** Chunks the body holds before the session waits for the reader (its backlog takes the rest). */
const queuedChunks = 8;

/**
 * The fetch handler's response body: the underlying source of its `ReadableStream` and the sink
 * its session writes to, in one object (its methods live on the prototype, not in per-stream
 * closures). The body pulls: the reader (Next.js, a `fetch` consumer) asks for more once it
 * took the queued chunks, which is what wakes a session waiting for its client.
 *
 * The session starts on the first read, not when the stream is made: until then the Node bridge
 * may take the session instead ({@link WebSseSink.takeSession}) and write it straight to the
 * socket, and this stream is never read. Hence a high-water mark of 0 (a pull means a reader is
 * waiting), with the queue bounded here instead.
 */
export class WebSseSink implements SseSink, UnderlyingDefaultSource<Uint8Array> {
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private waiting: (() => void) | undefined;
  /** Not started, started on this stream, or taken by the Node bridge. */
  private state: 'idle' | 'started' | 'taken' = 'idle';
  private open = true;

  constructor(private readonly session: SseSession) {}

  /**
   * Gives the session to another sink (the Node bridge's), unless a reader already started it
   * here. The stream then ends empty.
   */
  takeSession(): SseSession | undefined {
    if (this.state !== 'idle' || !this.open) return undefined;
    this.state = 'taken';
    this.open = false;
    this.controller?.close();
    return this.session;
  }

  // ---- underlying source -------------------------------------------------------------------

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
  }

  pull(): void {
    if (this.state === 'idle') {
      this.state = 'started';
      this.session.start(this);
      return;
    }
    this.wake();
  }

  cancel(): void {
    if (this.state === 'taken') return;
    this.open = false;
    this.waiting = undefined;
    this.session.close();
  }

  // ---- sink ----------------------------------------------------------------------------------

  write(chunk: Uint8Array): boolean {
    if (!this.open) return true;
    const controller = this.controller as ReadableStreamDefaultController<Uint8Array>;
    controller.enqueue(chunk);
    return this.writable;
  }

  get writable(): boolean {
    // desiredSize is minus the number of queued chunks (high-water mark 0).
    return this.open && (this.controller?.desiredSize ?? 0) + queuedChunks > 0;
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
