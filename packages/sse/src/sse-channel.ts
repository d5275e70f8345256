import type {
  BusEventMessage,
  BusResetMessage,
  BusSubscribeOptions,
  BusSubscription,
  EventBus,
} from '@calltrack/bus';
import { encodeCallEventFrame } from './encode-call-event-frame';

/**
 * How long a channel waits before subscribing again after its subscription failed `attempt` times
 * in a row without delivering anything: at once the first time, then 100 ms doubling up to 5 s
 * (Socket.IO's channels wait alike), so a bus whose subscriptions keep failing costs one attempt
 * (and one report) every 5 s, not a busy loop.
 */
function restartDelayMs(attempt: number): number {
  if (attempt <= 1) return 0;
  return Math.min(5000, 100 * 2 ** (attempt - 2));
}

/** A stream fed by a channel. */
export interface SseChannelMember {
  /**
   * One event of the channel, with its encoded frame, or the error that kept it from being
   * encoded (`frame` undefined). Called synchronously, in cursor order.
   */
  deliverEvent(message: BusEventMessage, frame: Uint8Array | undefined, error: unknown): void;
  /** Events were missed and cannot be replayed: the member must tell its client to reload. */
  deliverReset(reason: BusResetMessage['reason']): void;
  /** The channel ended for good: the bus closed, or it could not be subscribed again. */
  endFromChannel(reason: 'bus-closed' | 'error'): void;
}

/** What a channel needs from its handler. */
export interface SseChannelContext {
  bus: Pick<EventBus, 'subscribe'>;
  /** An event could not be encoded: report it (once). */
  onSkipped(error: unknown, message: BusEventMessage): void;
  /** The bus subscription failed: report it. */
  onError(error: unknown): void;
  /** The channel has ended and must be forgotten. */
  onEnd(channel: SseChannel): void;
}

/**
 * One bus subscription shared by every stream of a tenant (or every all-tenants stream) on one
 * handler: it reads each event once, encodes its frame once, and hands both to its members
 * synchronously, so a delivery costs a stream about what a bare `res.write` loop costs, and an
 * idle stream holds no bus subscription of its own.
 *
 * A channel lives while it is held (`hold` / `release`): by its members, and by streams still
 * replaying missed events on a subscription of their own, which join at the first event the
 * channel has also just delivered (`lastCursor`). A channel whose subscription lags or fails
 * subscribes again after its last cursor (the bus replays the gap or says `reset`, which members
 * pass on); one whose bus closes ends its members.
 */
export class SseChannel {
  /** Streams fed by this channel. */
  readonly members = new Set<SseChannelMember>();
  /** Resolves once live delivery is attached. */
  ready: Promise<void>;
  /** True once `ready` has resolved. */
  isReady = false;
  /** The cursor of the last event delivered to the members. */
  lastCursor: string | undefined;
  /** Set once the channel has ended by itself (not by its last holder leaving). */
  endReason: 'bus-closed' | 'error' | undefined;
  private holders = 0;
  private closed = false;
  private subscription: BusSubscription;
  /** Subscriptions that failed in a row without delivering anything. */
  private failures = 0;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly context: SseChannelContext,
    readonly key: string,
    private readonly scope: Pick<BusSubscribeOptions, 'tenantId' | 'allTenants'>,
  ) {
    this.subscription = context.bus.subscribe(scope);
    this.ready = this.subscription.ready.then(() => {
      this.isReady = true;
    });
    void this.pump(this.subscription);
  }

  /** Keeps the channel open for one more stream. */
  hold(): void {
    this.holders += 1;
  }

  /** One stream no longer needs the channel; the last one closes it. */
  release(): void {
    this.holders -= 1;
    if (this.holders === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.context.onEnd(this);
    void this.subscription.close();
  }

  private async pump(subscription: BusSubscription): Promise<void> {
    let again = false;
    let failed = false;
    try {
      for (;;) {
        const result = await subscription.next();
        if (result.done || this.closed) break;
        const message = result.value;
        this.failures = 0;
        if (message.type === 'event') {
          this.deliver(message);
        } else if (message.type === 'reset') {
          for (const member of this.members) member.deliverReset(message.reason);
        } else {
          // The channel itself fell behind (its event loop was starved): read on from history.
          again = true;
          break;
        }
      }
    } catch (error) {
      if (this.closed) return;
      this.context.onError(error);
      again = true;
      failed = true;
    }
    if (this.closed) return;
    if (again) {
      // Behind (lagged): on at once. Failed: at once the first time, then with a growing wait.
      if (failed) this.failures += 1;
      const delayMs = failed ? restartDelayMs(this.failures) : 0;
      if (delayMs === 0) {
        this.subscribeAgain();
        return;
      }
      const timer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.closed) this.subscribeAgain();
      }, delayMs);
      // Node's timers can let the process exit; other runtimes' may be plain numbers.
      (timer as { unref?: () => void }).unref?.();
      this.restartTimer = timer;
      return;
    }
    // The bus ended the subscription: it is closing.
    this.end('bus-closed');
  }

  private deliver(message: BusEventMessage): void {
    this.lastCursor = message.cursor;
    let frame: Uint8Array | undefined;
    let failure: unknown;
    try {
      frame = encodeCallEventFrame(message);
    } catch (error) {
      failure = error;
      this.context.onSkipped(error, message);
    }
    for (const member of this.members) member.deliverEvent(message, frame, failure);
  }

  private subscribeAgain(): void {
    const resumable = this.scope.tenantId !== undefined && this.lastCursor !== undefined;
    try {
      this.subscription = this.context.bus.subscribe(
        resumable ? { ...this.scope, after: this.lastCursor } : this.scope,
      );
    } catch (error) {
      this.context.onError(error);
      this.end('error');
      return;
    }
    // Without a cursor to resume from, what happened meanwhile is unknown: members reload.
    if (!resumable) {
      for (const member of this.members) member.deliverReset('reconnected');
    }
    void this.pump(this.subscription);
  }

  private end(reason: 'bus-closed' | 'error'): void {
    this.closed = true;
    this.endReason = reason;
    this.context.onEnd(this);
    void this.subscription.close();
    for (const member of [...this.members]) member.endFromChannel(reason);
  }
}
