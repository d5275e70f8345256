import type { ServerResponse } from 'node:http';
import type { SseSession, SseSink } from './sse-session';

/** Writes frames to a `ServerResponse`, following its backpressure. */
export class NodeSseSink implements SseSink {
  constructor(private readonly response: ServerResponse) {}

  write(chunk: Uint8Array): boolean {
    if (this.response.destroyed) return true;
    return this.response.write(chunk);
  }

  get writable(): boolean {
    return !this.response.writableNeedDrain && !this.response.destroyed;
  }

  whenWritable(callback: () => void): void {
    const { response } = this;
    // A client that went away closes its session: nothing waits for a drain that never comes.
    if (response.destroyed) return;
    if (response.writableNeedDrain) response.once('drain', callback);
    else queueMicrotask(callback);
  }

  /** Ends the response; drops a client that is behind (it resumes with `Last-Event-ID`). */
  end(): void {
    const { response } = this;
    if (response.writableEnded || response.destroyed) return;
    if (response.writableNeedDrain) response.destroy();
    else response.end();
  }
}

/**
 * Starts an attached session on a `ServerResponse` whose status and headers are set: the
 * response's end (the client left) closes the session.
 */
export function startNodeSseSink(session: SseSession, response: ServerResponse): void {
  if (response.destroyed) {
    session.close();
    return;
  }
  response.once('close', () => session.close());
  session.start(new NodeSseSink(response));
}
