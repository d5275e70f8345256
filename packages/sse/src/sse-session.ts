import { randomUUID } from 'node:crypto';
import type { BusEventMessage, BusResetMessage, BusSubscription } from '@calltrack/bus';
import { type CallEvent, isEventForPrincipal, type PresenceRegistration } from '@calltrack/core';
import {
  attachedWithin,
  listsMembersAcrossTenants,
  readPresenceMembers,
} from '@calltrack/core/internal';
import { createSseEventFilter } from './create-sse-event-filter';
import type { SseKeepAliveTarget } from './create-sse-keepalive';
import { encodeCallEventFrame } from './encode-call-event-frame';
import { encodePresenceFrame } from './encode-presence-frame';
import { encodePresenceUnavailableFrame } from './encode-presence-unavailable-frame';
import { encodeSnapshotFrame } from './encode-snapshot-frame';
import { encodeSseBytes } from './encode-sse-bytes';
import { encodeSseFrame } from './encode-sse-frame';
import { readSnapshotCalls } from './read-snapshot-calls';
import type { SseSettings } from './resolve-sse-settings';
import type { SseChannel, SseChannelMember } from './sse-channel';
import type { SseCloseReason, SseStreamInfo } from './sse-handler-options';

/** Where a session writes: a `ReadableStream` controller or a `node:http` response. */
export interface SseSink {
  /** Writes a chunk. False when the client is behind: write no more until `whenWritable`. */
  write(chunk: Uint8Array): boolean;
  /** False while the client is behind (a write returned false and it has not drained yet). */
  readonly writable: boolean;
  /** Calls `callback` once, on a later turn, when the client has caught up. */
  whenWritable(callback: () => void): void;
  /**
   * Ends the response (a no-op once the client is gone). A sink may drop a client that is
   * behind instead of waiting for it to read what is buffered.
   */
  end(): void;
}

/** Why a stream tells its client to reload: the bus's reasons, or an event it had to skip. */
type ResetReason = BusResetMessage['reason'] | 'event-skipped';

/**
 * A frame that is not a call event's (a snapshot, members, a `reset`), whose bytes may not be
 * known yet (a snapshot being loaded).
 */
interface PendingFrame {
  bytes: Uint8Array | undefined;
}

/** What a fresh stream starts with: the active calls and the presence members, as it takes them. */
interface FirstFrames {
  snapshot: PendingFrame | undefined;
  members: PendingFrame | undefined;
}

const pingFrame = encodeSseBytes(encodeSseFrame({ comment: 'ping' }));

/**
 * Reads of a fresh stream's first frames that may overflow before the stream gives up reading
 * them again: the last read's frames go out with the position they were read from, and the
 * stream ends, so that the client resumes from there.
 */
const maxFirstFrameReads = 3;
const resetFrames = new Map<string, Uint8Array>();

/** A random whole number of ms between half of `ms` and all of it: clients spread out. */
function halfToAll(ms: number): number {
  return ms - Math.floor(Math.random() * (Math.floor(ms / 2) + 1));
}

/** `event: reset`; with the cursor of a skipped event as its id, so a resume starts after it. */
function resetFrame(reason: ResetReason, cursor?: string): Uint8Array {
  const data = JSON.stringify({ reason });
  if (cursor !== undefined)
    return encodeSseBytes(encodeSseFrame({ id: cursor, event: 'reset', data }));
  let frame = resetFrames.get(reason);
  if (frame === undefined) {
    frame = encodeSseBytes(encodeSseFrame({ event: 'reset', data }));
    resetFrames.set(reason, frame);
  }
  return frame;
}

/**
 * One client's stream, whatever carries it (the fetch handler's `ReadableStream` or the Node
 * handler's `ServerResponse`).
 *
 * A fresh stream joins its tenant's channel (one bus subscription per tenant per handler) and is
 * fed by it synchronously. A stream that resumes (`Last-Event-ID`) first replays what it missed
 * on a bus subscription of its own, then joins the channel at the first event both delivered, so
 * nothing falls between the two and nothing comes twice. All-tenants streams cannot resume
 * (cursors are per tenant): they join at once and are told to reload.
 *
 * Frames go to the sink in order. While the client is behind, or a snapshot is being loaded,
 * they wait in a backlog of at most `maxPendingEvents`; past it the stream ends (`lagged`) and
 * the client resumes from its last id. A fresh stream has no id yet: when the events held behind
 * its first snapshot (or members) pass the limit while it loads, they are dropped, and once that
 * load is done the first frames are read again, so that they hold what was dropped. When the third
 * read overflows too (a tenant busier than the limit allows), its frames are sent with the cursor
 * they were read from as their id, the stream ends (`lagged`, reported to `onError`), and the
 * client resumes from that cursor: a replay, which the client's reading paces.
 *
 * An event the stream cannot carry (it cannot be encoded, a filter throws on it) is skipped and
 * reported, and the client gets a `reset` whose id is the event's cursor: it reloads, and a later
 * resume starts after that event.
 */
export class SseSession implements SseKeepAliveTarget, SseChannelMember {
  /** Set by writes, cleared by the keepalive ticker. */
  wrote = true;
  /** Call event frames written to the sink. */
  private delivered = 0;
  private closed = false;
  private opened = false;
  /** A member of the channel (rather than replaying on a subscription of its own). */
  private live = false;
  private sink: SseSink | undefined;
  /** Frames waiting: a bare frame is a call event's, any other frame is wrapped. */
  private backlog: Array<Uint8Array | PendingFrame> = [];
  private backlogHead = 0;
  private waitingForDrain = false;
  /** Wakes a replay loop waiting for the backlog to be written. */
  private flushed: (() => void) | undefined;
  private replay: BusSubscription | undefined;
  /** A fresh stream's first frames while they wait to load or load; undefined once loaded. */
  private firstFrames: FirstFrames | undefined;
  /**
   * Events came faster than the first frames loaded: the events are dropped until that load is
   * done, then the first frames are read again.
   */
  private restarting = false;
  /** Reads of the first frames so far: the first, and one after each overflow. */
  private firstFrameReads = 0;
  /** The channel's cursor when the current read of the first frames started. */
  private firstFramesPosition: string | undefined;
  /**
   * The first frames overflowed on their last read: they are sent with their position, events are
   * dropped, and the stream ends once the frames are written.
   */
  private endingAfterFirstFrames = false;
  /** Ends the stream at its `maxStreamMs`. */
  private expiry: ReturnType<typeof setTimeout> | undefined;
  /** The stream's registration with presence (a stream of a principal with a `userId`). */
  private presenceConnection: PresenceRegistration | undefined;
  private readonly filter: ((event: CallEvent) => boolean) | undefined;
  /**
   * The stream gets a members snapshot: presence is on, it takes `presence.*`, and it is a
   * tenant's or presence lists every tenant's members.
   */
  private readonly wantsMembers: boolean;
  /**
   * An all-tenants stream that takes `presence.*`, with a presence that cannot list every
   * tenant's members: told there are no members.
   */
  private readonly toldNoMembers: boolean;
  private readonly channel: SseChannel;

  /**
   * `clientSignal` tells when the client goes away before the stream is answered (the fetch
   * handler's `request.signal`); it is read only when attaching has to wait, because on some
   * runtimes (calltrack's Node bridge) the signal is built on first access, which costs memory
   * for as long as the stream lives. Once answered, the response's own end closes the session.
   */
  constructor(
    private readonly settings: SseSettings,
    private readonly info: SseStreamInfo,
    private clientSignal?: () => AbortSignal,
  ) {
    this.filter = createSseEventFilter(info.query);
    this.channel = settings.channels.hold(info.principal);
    const { principal } = info;
    const takesPresence =
      settings.presence !== undefined &&
      (this.filter === undefined ||
        this.filter({ type: 'presence.online', tenantId: principal.tenantId } as CallEvent));
    const acrossTenants =
      settings.presence !== undefined && listsMembersAcrossTenants(settings.presence);
    this.wantsMembers = takesPresence && (principal.allTenants !== true || acrossTenants);
    this.toldNoMembers = takesPresence && principal.allTenants === true && !acrossTenants;
  }

  /** True once the stream has ended (or the client left before it started). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Attaches the stream to the bus: once this resolves, every event published from now on
   * reaches the stream, so the client can be answered. Then, with presence and a principal with
   * a `userId`, registers the connection. Throws when the bus or presence refuses, and
   * `BusUnavailableError` (503) when that takes longer than `attachTimeoutMs` (Redis down).
   */
  async attach(): Promise<void> {
    await attachedWithin(this.attachAndRegister(), this.settings.attachTimeoutMs);
  }

  private async attachAndRegister(): Promise<void> {
    await this.attachToBus();
    const { presence } = this.settings;
    const { principal } = this.info;
    if (this.closed || presence === undefined || principal.userId === undefined) return;
    const connection = await presence.connect(principal, { connectionId: randomUUID() });
    if (this.closed) this.leavePresence(connection);
    else this.presenceConnection = connection;
  }

  private async attachToBus(): Promise<void> {
    const { settings, info, channel } = this;
    const { principal, query } = info;
    const replaying = query.lastEventId !== undefined && principal.allTenants !== true;
    let signal: AbortSignal | undefined;
    if (this.clientSignal && (replaying || !channel.isReady)) {
      signal = this.clientSignal();
      signal.addEventListener('abort', () => this.close(), { once: true });
    }
    // Keep nothing of the request (the closure holds it) for the life of the stream.
    this.clientSignal = undefined;
    await channel.ready;
    if (this.closed) return;
    if (channel.endReason !== undefined) {
      this.close(channel.endReason);
      return;
    }
    if (replaying) {
      const replay = settings.bus.subscribe({
        tenantId: principal.tenantId,
        after: query.lastEventId,
        ...(signal ? { signal } : {}),
      });
      this.replay = replay;
      await replay.ready;
      return;
    }
    channel.members.add(this);
    this.live = true;
    if (principal.allTenants === true && query.lastEventId !== undefined) {
      this.backlog.push({ bytes: resetFrame('reconnected') });
    }
    // No members of every tenant to be had: said at the start (an all-tenants stream is always
    // fresh) and after each reset.
    if (this.toldNoMembers) this.backlog.push({ bytes: encodePresenceUnavailableFrame() });
    this.firstFrames = this.queueFirstFrames();
  }

  /**
   * Queues the snapshot and members of a fresh stream (an all-tenants stream is always fresh),
   * to be loaded: events that arrive while they load wait behind them.
   */
  private queueFirstFrames(): FirstFrames | undefined {
    const { principal, query } = this.info;
    const fresh = query.lastEventId === undefined;
    const queue = (): PendingFrame => {
      const pending: PendingFrame = { bytes: undefined };
      this.backlog.push(pending);
      return pending;
    };
    const snapshot =
      this.settings.tracker && (fresh || principal.allTenants === true) ? queue() : undefined;
    const members =
      this.wantsMembers && (fresh || principal.allTenants === true) ? queue() : undefined;
    return snapshot || members ? { snapshot, members } : undefined;
  }

  /** Starts writing to `sink`: the `retry:` first, then the snapshot and events. */
  start(sink: SseSink): void {
    if (this.closed) {
      sink.end();
      return;
    }
    const { settings, info } = this;
    this.sink = sink;
    this.opened = true;
    settings.keepAlive?.add(this);
    if (settings.maxStreamMs > 0) {
      const expiry = setTimeout(() => this.close('expired'), halfToAll(settings.maxStreamMs));
      // Node's timers can let the process exit; other runtimes' may be plain numbers.
      (expiry as { unref?: () => void }).unref?.();
      this.expiry = expiry;
    }
    this.write(encodeSseBytes(encodeSseFrame({ retry: halfToAll(settings.retryMs) })));
    try {
      settings.onOpen?.(info);
    } catch (error) {
      settings.report(error, { stream: info });
    }
    if (this.closed) return;
    if (this.firstFrames) this.loadFirstFrames(this.firstFrames);
    this.flush();
    if (this.replay) void this.runReplay(this.replay);
  }

  /** The client went away, or the stream must end: leaves the bus at once, reports once. */
  close(reason: SseCloseReason = 'client-closed'): void {
    if (this.closed) return;
    this.closed = true;
    const { settings, info } = this;
    settings.keepAlive?.delete(this);
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    if (this.live) this.channel.members.delete(this);
    this.channel.release();
    if (this.replay) void this.replay.close();
    if (this.presenceConnection) {
      settings.heartbeatOutage.left(this);
      this.leavePresence(this.presenceConnection);
    }
    this.presenceConnection = undefined;
    this.backlog = [];
    this.backlogHead = 0;
    this.wake();
    this.sink?.end();
    if (!this.opened) return;
    try {
      settings.onClose?.({ ...info, reason, delivered: this.delivered });
    } catch (error) {
      settings.report(error, { stream: info });
    }
  }

  /** Writes a keepalive comment, unless the client is behind (then it is not idle anyway). */
  ping(): void {
    if (this.closed || this.backlogHead < this.backlog.length || !this.sink?.writable) return;
    this.write(pingFrame);
  }

  /** A keepalive tick: the stream's presence heartbeat. */
  beat(): void {
    const connection = this.presenceConnection;
    if (connection === undefined) return;
    const { settings, info } = this;
    // An outage fails every stream's heartbeat at every tick: reported once, and once when over.
    connection.heartbeat().then(
      () => {
        const back = settings.heartbeatOutage.worked(this);
        if (back) settings.report(new Error(back));
      },
      (error: unknown) => {
        if (settings.heartbeatOutage.failed(this, error)) settings.report(error, { stream: info });
      },
    );
  }

  // ---- fed by the channel (synchronously) or by the replay loop -------------------------

  deliverEvent(message: BusEventMessage, frame: Uint8Array | undefined, error: unknown): void {
    if (this.closed) return;
    // Another user's user-addressed event (a `user.message`): never this stream's.
    if (!isEventForPrincipal(message.event, this.info.principal)) return;
    if (this.filter !== undefined) {
      let wanted: boolean;
      try {
        wanted = this.filter(message.event);
      } catch (filterError) {
        this.skip(filterError, message);
        return;
      }
      if (!wanted) return;
    }
    if (frame === undefined) {
      this.skip(error, message);
      return;
    }
    this.send(frame);
  }

  deliverReset(reason: BusResetMessage['reason']): void {
    if (this.closed) return;
    this.sendReset(reason);
  }

  endFromChannel(reason: 'bus-closed' | 'error'): void {
    this.close(reason);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Skips an event the stream cannot carry: reports it, tells the client to reload. */
  private skip(error: unknown, message: BusEventMessage): void {
    this.settings.reportSkipped(error, message, this.info);
    this.sendReset('event-skipped', message.cursor);
  }

  private sendReset(reason: ResetReason, cursor?: string): void {
    // The first frames are read again after what is being dropped (or the stream ends after
    // them, and the client resumes): they stand for this reset.
    if (this.restarting || this.endingAfterFirstFrames) return;
    this.send({ bytes: resetFrame(reason, cursor) });
    // What a fresh stream starts with comes again, in the same order: members, or (presence
    // without a listing of every tenant) the word that none come.
    if (this.toldNoMembers && !this.closed) {
      this.send({ bytes: encodePresenceUnavailableFrame() });
    }
    if (this.settings.tracker && !this.closed) {
      const pending: PendingFrame = { bytes: undefined };
      this.backlog.push(pending);
      void this.loadSnapshot(pending);
    }
    if (this.wantsMembers && !this.closed) {
      const pending: PendingFrame = { bytes: undefined };
      this.backlog.push(pending);
      void this.loadMembers(pending);
    }
  }

  private leavePresence(connection: PresenceRegistration): void {
    connection.disconnect().catch((error: unknown) => {
      this.settings.report(error, { stream: this.info });
    });
  }

  private async loadMembers(pending: PendingFrame): Promise<void> {
    const { settings, info } = this;
    const presence = settings.presence as NonNullable<SseSettings['presence']>;
    let bytes: Uint8Array;
    try {
      const { principal } = info;
      const { members, complete } = await readPresenceMembers(
        presence,
        principal.allTenants === true ? undefined : principal.tenantId,
        settings.presenceSnapshotLimit,
      );
      bytes = encodePresenceFrame(members, complete, this.resumeIdOf(pending));
    } catch (error) {
      if (!this.closed) {
        settings.report(error, { stream: info });
        this.close('error');
      }
      return;
    }
    if (this.closed) return;
    pending.bytes = bytes;
    this.flush();
  }

  /**
   * Queues a frame (a call event's, or a wrapped `reset`) behind those waiting, or writes it at
   * once when nothing waits.
   */
  private send(frame: Uint8Array | PendingFrame): void {
    if (this.restarting || this.endingAfterFirstFrames) return;
    const { sink } = this;
    if (sink !== undefined && this.backlogHead === this.backlog.length && sink.writable) {
      this.writeFrame(frame);
      return;
    }
    this.backlog.push(frame);
    if (this.backlog.length - this.backlogHead > this.settings.maxPendingEvents) {
      this.overflow();
      return;
    }
    if (sink !== undefined && !sink.writable) this.waitForDrain();
  }

  /**
   * The backlog is full. Frames held behind a first frame that is still loading are not the
   * client's lag: they are dropped, with that first frame and all after it, and the first
   * frames are read again once the current load is done (a read that starts after the dropped
   * events holds them). The client has no id yet, so ending the stream would only bring it back
   * to the same start. After `maxFirstFrameReads` reads that all overflowed, the frames being
   * read are kept and only the events are dropped: the frames go out with the position they were
   * read from, then the stream ends, so that the client resumes from it (and reads no faster than
   * it can). An all-tenants stream has no such position: it reads again however often it takes,
   * reported once. Anything else is lag: the stream ends and the client resumes.
   */
  private overflow(): void {
    const { backlog, firstFrames } = this;
    for (let index = this.backlogHead; firstFrames && index < backlog.length; index += 1) {
      const item = backlog[index];
      const isFirstFrame = (frame: unknown): boolean =>
        frame === firstFrames.snapshot || frame === firstFrames.members;
      if (isFirstFrame(item) && (item as PendingFrame).bytes === undefined) {
        const { maxPendingEvents } = this.settings;
        // An all-tenants stream has no position to resume from (cursors are per tenant): ending
        // it would only bring the client back to the same start, so it reads again for as long
        // as it takes, said once.
        const allTenants = this.info.principal.allTenants === true;
        if (this.firstFrameReads < maxFirstFrameReads || allTenants) {
          backlog.length = index;
          this.restarting = true;
          if (allTenants && this.firstFrameReads === maxFirstFrameReads) {
            this.settings.report(
              new Error(
                `More than ${maxPendingEvents} events (maxPendingEvents) arrived during each of ` +
                  `${maxFirstFrameReads} reads of a new stream's snapshot of all tenants: it is ` +
                  'read again until a read is not overrun (no live events meanwhile). Raise ' +
                  'maxPendingEvents to serve such a deployment without it.',
              ),
              { stream: this.info },
            );
          }
          return;
        }
        const kept = backlog.slice(index).filter(isFirstFrame);
        backlog.length = index;
        backlog.push(...kept);
        this.endingAfterFirstFrames = true;
        this.settings.report(
          new Error(
            `More than ${maxPendingEvents} events (maxPendingEvents) arrived during each of ` +
              `${maxFirstFrameReads} reads of a new stream's snapshot: the last one is sent with ` +
              'the position it was read from and the stream ends (lagged), so that the client ' +
              'resumes from there. Raise maxPendingEvents to serve such a tenant without it.',
          ),
          { stream: this.info },
        );
        return;
      }
    }
    this.close('lagged');
  }

  /**
   * The id a first frame goes out with: the position it was read from, when the stream ends after
   * it (the client resumes from there). A later frame without an id keeps it as the client's.
   */
  private resumeIdOf(pending: PendingFrame): string | undefined {
    const { firstFrames } = this;
    if (!this.endingAfterFirstFrames || firstFrames === undefined) return undefined;
    if (pending !== firstFrames.snapshot && pending !== firstFrames.members) return undefined;
    return this.firstFramesPosition;
  }

  /**
   * Loads the first frames. Once every one is loaded, the stream goes on, or, when events were
   * dropped meanwhile, queues and loads them again: one read of each at a time, however fast
   * events come.
   */
  private loadFirstFrames(frames: FirstFrames): void {
    this.firstFrameReads += 1;
    // Every event up to the channel's last one is in the tracker (it publishes what it applied),
    // so the frames read from now on hold at least that much. Cursors are per tenant.
    this.firstFramesPosition =
      this.info.principal.allTenants === true ? undefined : this.channel.lastCursor;
    void Promise.all([
      frames.snapshot && this.loadSnapshot(frames.snapshot),
      frames.members && this.loadMembers(frames.members),
    ]).then(async () => {
      if (this.closed) return;
      if (this.endingAfterFirstFrames) {
        await this.whenFlushed();
        this.close('lagged');
        return;
      }
      if (!this.restarting) {
        this.firstFrames = undefined;
        return;
      }
      this.restarting = false;
      this.firstFrames = this.queueFirstFrames();
      if (this.firstFrames) this.loadFirstFrames(this.firstFrames);
    });
  }

  /** Writes a frame that is ready; a call event's counts as delivered once written. */
  private writeFrame(frame: Uint8Array | PendingFrame): void {
    // `ArrayBuffer.isView`, not `instanceof`: a frame may come from another realm (a test DOM).
    if (ArrayBuffer.isView(frame)) {
      this.delivered += 1;
      this.write(frame);
    } else {
      this.write(frame.bytes as Uint8Array);
    }
  }

  private write(bytes: Uint8Array): boolean {
    this.wrote = true;
    const written = (this.sink as SseSink).write(bytes);
    if (!written) this.waitForDrain();
    return written;
  }

  private waitForDrain(): void {
    if (this.waitingForDrain || this.closed) return;
    this.waitingForDrain = true;
    (this.sink as SseSink).whenWritable(() => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  /** Writes waiting frames until the client is behind again or a snapshot is still loading. */
  private flush(): void {
    const { sink } = this;
    if (sink === undefined || this.closed) return;
    const { backlog } = this;
    while (this.backlogHead < backlog.length) {
      if (!sink.writable) {
        this.waitForDrain();
        return;
      }
      const item = backlog[this.backlogHead] as Uint8Array | PendingFrame;
      if (!ArrayBuffer.isView(item) && item.bytes === undefined) return;
      this.backlogHead += 1;
      this.writeFrame(item);
    }
    if (backlog.length > 0) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    this.wake();
  }

  private wake(): void {
    const flushed = this.flushed;
    this.flushed = undefined;
    flushed?.();
  }

  /** Resolves once every waiting frame has been written, or the stream has closed. */
  private whenFlushed(): Promise<void> {
    if (this.closed || (this.backlogHead === this.backlog.length && this.sink?.writable)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.flushed = resolve;
    });
  }

  private async loadSnapshot(pending: PendingFrame): Promise<void> {
    const { settings, info } = this;
    const { principal, query } = info;
    const tracker = settings.tracker as NonNullable<SseSettings['tracker']>;
    let bytes: Uint8Array;
    try {
      const { calls, complete } = await readSnapshotCalls(
        tracker,
        principal,
        query,
        settings.snapshotLimit,
      );
      bytes = encodeSnapshotFrame(
        calls,
        complete,
        (error) => settings.report(error, { stream: info }),
        this.resumeIdOf(pending),
      );
    } catch (error) {
      if (!this.closed) {
        settings.report(error, { stream: info });
        this.close('error');
      }
      return;
    }
    if (this.closed) return;
    pending.bytes = bytes;
    this.flush();
  }

  /**
   * Replays the missed events on the stream's own subscription, then joins the channel at the
   * first event the channel has also just delivered. Reads no further than the client takes:
   * what it does not take yet waits in the bus subscription, whose buffer is bounded (`lagged`).
   */
  private async runReplay(replay: BusSubscription): Promise<void> {
    try {
      while (!this.closed) {
        await this.whenFlushed();
        if (this.closed) return;
        const result = await replay.next();
        if (this.closed) return;
        if (result.done) {
          this.close('bus-closed');
          return;
        }
        const message = result.value;
        if (message.type === 'event') {
          let frame: Uint8Array | undefined;
          let failure: unknown;
          try {
            frame = encodeCallEventFrame(message);
          } catch (error) {
            failure = error;
          }
          this.deliverEvent(message, frame, failure);
          const { channel } = this;
          if (
            !this.closed &&
            message.cursor === channel.lastCursor &&
            channel.endReason === undefined
          ) {
            // The channel delivered this very event last: everything after it comes from there.
            channel.members.add(this);
            this.live = true;
            return;
          }
        } else if (message.type === 'reset') {
          this.deliverReset(message.reason);
        } else {
          this.close('lagged');
          return;
        }
      }
    } catch (error) {
      if (!this.closed) {
        this.settings.report(error, { stream: this.info });
        this.close('error');
      }
    } finally {
      this.replay = undefined;
      void replay.close();
    }
  }
}
