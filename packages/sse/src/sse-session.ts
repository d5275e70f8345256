import type { BusMessage, BusResetMessage, BusSubscription } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import type { SseKeepAliveTarget } from './create-sse-keepalive';
import { encodeCallEventFrame } from './encode-call-event-frame';
import { encodeSseFrame } from './encode-sse-frame';
import type { SseSettings } from './resolve-sse-settings';
import type { SseCloseReason, SseStreamInfo } from './sse-handler-options';

/** Where a session writes: a `ReadableStream` controller or a `node:http` response. */
export interface SseSink {
  /** Writes a chunk. False when the client is behind: wait for `drain()` before writing more. */
  write(chunk: Uint8Array): boolean;
  /** False while the client is behind (a write returned false and it has not drained yet). */
  readonly writable: boolean;
  /** Resolves once the client has caught up, or the stream has closed. */
  drain(): Promise<void>;
  /**
   * Ends the response (a no-op once the client is gone). A sink may drop a client that is
   * behind instead of waiting for it to read what is buffered.
   */
  end(): void;
}

const encoder = new TextEncoder();

/** Resolves after pending I/O has run (setImmediate on Node, a 0 ms timer elsewhere). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
const pingFrame = encoder.encode(encodeSseFrame({ comment: 'ping' }));

/**
 * One client's stream, whatever carries it: subscribes to the bus, waits until live delivery is
 * attached, sends the snapshot, then turns bus messages into SSE frames until the client leaves,
 * lags or the bus closes. Shared by the fetch handler and the Node handler.
 *
 * Memory stays bounded for a slow client: the session asks the bus for the next message only
 * after the sink accepted the previous frame (`write` returned true, or `drain()` resolved), so
 * at most a frame or two wait in the sink; everything else waits in the bus subscription, whose
 * buffer is capped (`maxBufferedMessages`): past it the bus answers `lagged` and the session ends
 * the stream. The client reconnects with `Last-Event-ID` and resumes from history.
 */
export class SseSession implements SseKeepAliveTarget {
  /** Set by writes, cleared by the keepalive ticker. */
  wrote = true;
  private delivered = 0;
  private closed = false;
  private readonly callIds: ReadonlySet<string> | undefined;
  private sink: SseSink | undefined;
  /** A `next()` started while waiting for the client, not consumed yet. */
  private pending: Promise<IteratorResult<BusMessage, undefined>> | undefined;
  /** Messages read while the client was behind, from `backlogHead` on. */
  private readonly backlog: BusMessage[] = [];
  private backlogHead = 0;

  constructor(
    private readonly settings: SseSettings,
    private readonly info: SseStreamInfo,
    private readonly subscription: BusSubscription,
    private readonly signal?: AbortSignal,
  ) {
    const { callIds } = info.query;
    this.callIds = callIds.length > 1 ? new Set(callIds) : undefined;
  }

  /**
   * Subscribes to the bus for a stream: the subscription is attached before anything is read,
   * so nothing published from now on can be missed.
   */
  static open(settings: SseSettings, info: SseStreamInfo, signal?: AbortSignal): SseSession {
    const { query, principal } = info;
    const subscription = settings.bus.subscribe({
      tenantId: principal.tenantId,
      ...(query.callIds.length === 1 ? { callId: query.callIds[0] } : {}),
      ...(query.types.length > 0 ? { types: query.types } : {}),
      ...(query.lastEventId === undefined ? {} : { after: query.lastEventId }),
      ...(signal === undefined ? {} : { signal }),
    });
    return new SseSession(settings, info, subscription, signal);
  }

  /** The client went away: ends the bus subscription at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.subscription.close();
  }

  /** Writes a keepalive comment, unless the client is behind (then it is not idle anyway). */
  ping(): void {
    const { sink } = this;
    if (!this.closed && sink?.writable) sink.write(pingFrame);
  }

  /** Streams into `sink` until the end; resolves once the stream has ended and been reported. */
  async run(sink: SseSink): Promise<void> {
    this.sink = sink;
    const { settings, info, subscription } = this;
    let reason: SseCloseReason = 'client-closed';
    settings.keepAlive?.add(this);
    try {
      const jitter = Math.floor(Math.random() * (settings.retryMs / 2 + 1));
      this.write(encoder.encode(encodeSseFrame({ retry: settings.retryMs + jitter })));
      await subscription.ready;
      if (this.closed) return;
      settings.onOpen?.(info);
      if (settings.tracker && info.query.lastEventId === undefined) await this.sendSnapshot();
      while (!this.closed) {
        const result = await this.next();
        if (result.done) {
          if (!this.closed && !this.signal?.aborted) reason = 'bus-closed';
          break;
        }
        const message = result.value;
        if (message.type === 'event') {
          if (!this.matches(message.event)) continue;
          this.delivered += 1;
          if (this.write(encodeCallEventFrame(message))) continue;
          const outcome = await this.waitUntilWritable();
          if (outcome === 'lagged') {
            reason = 'lagged';
            break;
          }
          if (outcome === 'ended') {
            if (!this.closed && !this.signal?.aborted) reason = 'bus-closed';
            break;
          }
        } else if (message.type === 'reset') {
          await this.sendReset(message);
        } else {
          reason = 'lagged';
          break;
        }
      }
    } catch (error) {
      if (!this.closed && !this.signal?.aborted) {
        reason = 'error';
        settings.onError(error, info);
      }
    } finally {
      settings.keepAlive?.delete(this);
      this.closed = true;
      await subscription.close();
      sink.end();
      try {
        settings.onClose?.({ ...info, reason, delivered: this.delivered });
      } catch (error) {
        settings.onError(error, info);
      }
    }
  }

  /** The next bus message: from the backlog read while the client was behind, if any. */
  private next(): Promise<IteratorResult<BusMessage, undefined>> | IteratorResult<BusMessage> {
    const { backlog } = this;
    if (this.backlogHead < backlog.length) {
      const value = backlog[this.backlogHead] as BusMessage;
      this.backlogHead += 1;
      if (this.backlogHead === backlog.length) {
        backlog.length = 0;
        this.backlogHead = 0;
      }
      return { done: false, value };
    }
    const pending = this.pending;
    this.pending = undefined;
    return pending ?? this.subscription.next();
  }

  /**
   * Waits for a client whose socket is full to catch up. Meanwhile the bus is read on into a
   * backlog, so that a client that stopped reading is noticed and let go at once (its backlog
   * outgrows `maxBufferedEvents`, or the bus cuts it off), instead of whenever its TCP connection
   * times out. Nothing more is written to the socket until it drains.
   */
  private async waitUntilWritable(): Promise<'writable' | 'lagged' | 'ended'> {
    let drained = false;
    const drain = (this.sink as SseSink).drain().then(() => {
      drained = true;
    });
    while (!drained) {
      this.pending ??= this.subscription.next();
      const result = await Promise.race([drain.then(() => undefined), this.pending]);
      if (result === undefined) break;
      this.pending = undefined;
      if (result.done) return 'ended';
      if (result.value.type === 'lagged') return 'lagged';
      this.backlog.push(result.value);
      if (this.backlog.length - this.backlogHead > this.settings.maxBufferedEvents) {
        return 'lagged';
      }
      // One message per turn of the event loop: a client that is merely slow drains in between
      // (a replay from history is all there at once and must not look like lag).
      await Promise.race([drain, nextTurn()]);
    }
    return 'writable';
  }

  private write(chunk: Uint8Array): boolean {
    this.wrote = true;
    return (this.sink as SseSink).write(chunk);
  }

  /** The filters the bus could not apply: several call ids, the branch. */
  private matches(event: CallEvent): boolean {
    const { callIds } = this;
    if (callIds !== undefined && (event.callId === undefined || !callIds.has(event.callId))) {
      return false;
    }
    const { branchId } = this.info.query;
    return branchId === undefined || event.branchId === branchId;
  }

  private async sendReset(message: BusResetMessage): Promise<void> {
    const data = JSON.stringify({ reason: message.reason });
    this.write(encoder.encode(encodeSseFrame({ event: 'reset', data })));
    if (this.settings.tracker) await this.sendSnapshot();
  }

  private async sendSnapshot(): Promise<void> {
    const { tracker, snapshotLimit } = this.settings;
    const { principal, query } = this.info;
    let calls = await (tracker as NonNullable<typeof tracker>).listActiveCalls(principal.tenantId, {
      limit: snapshotLimit,
      ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
    });
    if (query.callIds.length > 0) {
      const wanted = new Set(query.callIds);
      calls = calls.filter((call) => wanted.has(call.callId));
    }
    if (this.closed) return;
    const frame = encodeSseFrame({ event: 'snapshot', data: JSON.stringify({ calls }) });
    if (!this.write(encoder.encode(frame))) await (this.sink as SseSink).drain();
  }
}
