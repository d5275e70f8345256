import type { BusEventMessage } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import {
  checkTimerDelayMs,
  createHeartbeatOutage,
  type HeartbeatOutage,
  parseAllowedOrigins,
  toError,
} from '@calltrack/core/internal';
import { createSseKeepAlive, type SseKeepAlive } from './create-sse-keepalive';
import { describeSkippedEvent } from './describe-skipped-event';
import { SseChannels } from './sse-channels';
import type { SseErrorInfo, SseHandlerOptions, SseStreamInfo } from './sse-handler-options';

/** The options of a handler, checked, with defaults applied. */
export interface SseSettings {
  bus: SseHandlerOptions['bus'];
  tracker: SseHandlerOptions['tracker'];
  presence: SseHandlerOptions['presence'];
  authenticate: SseHandlerOptions['authenticate'];
  /** The origins whose pages may open a stream; undefined: every origin. */
  allowedOrigins: ReadonlySet<string> | undefined;
  keepAlive: SseKeepAlive | undefined;
  retryMs: number;
  snapshotLimit: number;
  presenceSnapshotLimit: number;
  maxFollowedCalls: number;
  attachTimeoutMs: number;
  maxPendingEvents: number;
  /** 0: no limit. */
  maxStreamMs: number;
  onOpen: SseHandlerOptions['onOpen'];
  onClose: SseHandlerOptions['onClose'];
  /** The handler's shared bus subscriptions. */
  channels: SseChannels;
  /** Hands a failure to `onError`; an `onError` that throws is ignored. */
  report(error: unknown, info?: SseErrorInfo): void;
  /** Reports an event a stream had to skip, once per event however many streams skip it. */
  reportSkipped(error: unknown, message: BusEventMessage, stream?: SseStreamInfo): void;
  /** The streams' failed presence heartbeats, reported once per outage. */
  heartbeatOutage: HeartbeatOutage;
}

/** Checks a handler's options; throws `InvalidArgumentError` for unusable ones. */
export function resolveSseSettings(options: SseHandlerOptions, name: string): SseSettings {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: `${name} needs { bus, authenticate }.` });
  }
  if (options.bus == null || typeof options.bus.subscribe !== 'function') {
    throw new InvalidArgumentError({
      message: `${name} needs a bus (createMemoryBus() or createRedisBus()).`,
    });
  }
  if (typeof options.authenticate !== 'function') {
    throw new InvalidArgumentError({
      message: `${name} needs authenticate(request): the stream's tenant comes from it.`,
    });
  }
  const { tracker } = options;
  if (
    tracker != null &&
    (typeof tracker.listActiveCalls !== 'function' ||
      typeof tracker.listActiveCallsAcrossTenants !== 'function')
  ) {
    throw new InvalidArgumentError({
      message: `${name}: tracker must have listActiveCalls() and listActiveCallsAcrossTenants().`,
    });
  }
  const { presence } = options;
  if (
    presence != null &&
    (typeof presence.connect !== 'function' || typeof presence.listMembers !== 'function')
  ) {
    throw new InvalidArgumentError({
      message: `${name}: presence must have connect() and listMembers() (createPresence()).`,
    });
  }
  const keepAliveMs = checkTimerDelayMs(name, 'keepAliveMs', options.keepAliveMs, 15_000, 0);
  const onError =
    options.onError ??
    ((error: unknown) => {
      console.error('calltrack sse:', error);
    });
  const report = (error: unknown, info: SseErrorInfo = {}): void => {
    try {
      onError(
        toError(error),
        info.stream === undefined ? info : { principal: info.stream.principal, ...info },
      );
    } catch {
      // A failing error hook must not take a stream down with it.
    }
  };
  // Events are objects shared by every stream they reach: remember which were reported.
  const reported = new WeakSet<object>();
  const reportSkipped = (error: unknown, message: BusEventMessage, stream?: SseStreamInfo) => {
    const { event } = message;
    if (typeof event === 'object' && event !== null) {
      if (reported.has(event)) return;
      reported.add(event);
    }
    report(error, { ...(stream ? { stream } : {}), skipped: describeSkippedEvent(message) });
  };
  return {
    bus: options.bus,
    tracker: tracker ?? undefined,
    presence: presence ?? undefined,
    authenticate: options.authenticate,
    allowedOrigins: parseAllowedOrigins(name, options.allowedOrigins),
    keepAlive: keepAliveMs > 0 ? createSseKeepAlive(keepAliveMs) : undefined,
    retryMs: checkTimerDelayMs(name, 'retryMs', options.retryMs, 1000, 0),
    snapshotLimit: integer(options.snapshotLimit, 1000, 1, 10_000, 'snapshotLimit', name),
    presenceSnapshotLimit: integer(
      options.presenceSnapshotLimit,
      1000,
      1,
      10_000,
      'presenceSnapshotLimit',
      name,
    ),
    maxFollowedCalls: integer(options.maxFollowedCalls, 100, 1, 10_000, 'maxFollowedCalls', name),
    attachTimeoutMs: checkTimerDelayMs(name, 'attachTimeoutMs', options.attachTimeoutMs, 10_000),
    maxPendingEvents: integer(
      options.maxPendingEvents,
      1000,
      1,
      1_000_000,
      'maxPendingEvents',
      name,
    ),
    maxStreamMs: checkTimerDelayMs(name, 'maxStreamMs', options.maxStreamMs, 0, 0),
    onOpen: options.onOpen,
    onClose: options.onClose,
    channels: new SseChannels(
      options.bus,
      (error, message) => reportSkipped(error, message),
      (error) => report(error),
    ),
    report,
    reportSkipped,
    heartbeatOutage: createHeartbeatOutage({
      back: 'Presence heartbeats of the SSE streams work again',
    }),
  };
}

function integer(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  option: string,
  name: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError({
      message: `${name}: ${option} must be an integer from ${min} to ${max}.`,
    });
  }
  return value;
}
