import { InvalidArgumentError } from '@calltrack/core';
import { createSseKeepAlive, type SseKeepAlive } from './create-sse-keepalive';
import type { SseHandlerOptions } from './sse-handler-options';

/** The options of a handler, checked, with defaults applied. */
export interface SseSettings {
  bus: SseHandlerOptions['bus'];
  tracker: SseHandlerOptions['tracker'];
  authenticate: SseHandlerOptions['authenticate'];
  keepAlive: SseKeepAlive | undefined;
  retryMs: number;
  snapshotLimit: number;
  maxCallIds: number;
  maxBufferedEvents: number;
  onOpen: SseHandlerOptions['onOpen'];
  onClose: SseHandlerOptions['onClose'];
  onError: NonNullable<SseHandlerOptions['onError']>;
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
  if (options.tracker != null && typeof options.tracker.listActiveCalls !== 'function') {
    throw new InvalidArgumentError({ message: `${name}: tracker must have listActiveCalls().` });
  }
  const keepAliveMs = integer(options.keepAliveMs, 15_000, 0, 2 ** 31 - 1, 'keepAliveMs', name);
  return {
    bus: options.bus,
    tracker: options.tracker ?? undefined,
    authenticate: options.authenticate,
    keepAlive: keepAliveMs > 0 ? createSseKeepAlive(keepAliveMs) : undefined,
    retryMs: integer(options.retryMs, 3000, 0, 2 ** 31 - 1, 'retryMs', name),
    snapshotLimit: integer(options.snapshotLimit, 1000, 1, 10_000, 'snapshotLimit', name),
    maxCallIds: integer(options.maxCallIds, 100, 1, 10_000, 'maxCallIds', name),
    maxBufferedEvents: integer(
      options.maxBufferedEvents,
      1000,
      1,
      1_000_000,
      'maxBufferedEvents',
      name,
    ),
    onOpen: options.onOpen,
    onClose: options.onClose,
    onError:
      options.onError ??
      ((error) => {
        console.error('calltrack sse:', error);
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
