import type { EventBus } from '@calltrack/bus';
import { type CallEvent, maskPhoneNumber } from '@calltrack/core';

/** One entry of a call's timeline, as the console's call drawer shows it. */
export interface TimelineEntry {
  id: string;
  type: string;
  status?: string;
  occurredAt: string;
  /** The event's `data` without the call snapshot the tracker adds (the drawer has the call). */
  data: Record<string, unknown>;
}

/** Keeps the events of the most recent calls of one tenant, for the call detail drawer. */
export interface CallTimelineRecorder {
  /** The call's events in the order they happened; empty for a call it has not seen. */
  get(callId: string): TimelineEntry[];
  /**
   * The tenant's most recent `alert.*` events, newest first: alerts are events, not stored
   * anywhere, so a console opened after one fired would otherwise not show it.
   */
  recentAlerts(): CallEvent[];
  /** Resolves once the recorder is subscribed (events published after it are kept). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createCallTimelineRecorder}. */
export interface CallTimelineRecorderOptions {
  bus: EventBus;
  tenantId: string;
  /** Calls kept (the oldest is forgotten first). Default 500. */
  maxCalls?: number;
  /** Events kept per call. Default 200. */
  maxEventsPerCall?: number;
  /** Alerts kept. Default 20. */
  maxAlerts?: number;
}

/**
 * Follows the tenant's `call.*` and `alert.*` events on the bus and keeps each call's timeline
 * and the last alerts in memory.
 *
 * The bus keeps history for resume, not a per-call log, and the tracker keeps a call's state, not
 * its events; a real app writes these events to its database (or to a warehouse through
 * `@calltrack/webhooks`). With Redis, every instance follows the same stream, so every instance
 * has the same timelines for calls that started after it did.
 */
export function createCallTimelineRecorder(
  options: CallTimelineRecorderOptions,
): CallTimelineRecorder {
  const maxCalls = options.maxCalls ?? 500;
  const maxEventsPerCall = options.maxEventsPerCall ?? 200;
  const maxAlerts = options.maxAlerts ?? 20;
  const timelines = new Map<string, TimelineEntry[]>();
  const alerts: CallEvent[] = [];
  const stop = new AbortController();
  const subscribe = (after: string | undefined) =>
    options.bus.subscribe({
      tenantId: options.tenantId,
      types: ['call.*', 'alert.*'],
      signal: stop.signal,
      ...(after === undefined ? {} : { after }),
    });
  const first = subscribe(undefined);

  const record = (event: CallEvent) => {
    if (event.type.startsWith('alert.')) {
      alerts.unshift(event);
      if (alerts.length > maxAlerts) alerts.pop();
      return;
    }
    if (event.callId === undefined) return;
    let timeline = timelines.get(event.callId);
    if (timeline === undefined) {
      timeline = [];
      timelines.set(event.callId, timeline);
      if (timelines.size > maxCalls) timelines.delete(timelines.keys().next().value as string);
    }
    if (timeline.some((entry) => entry.id === event.id)) return;
    const { call: _call, ...data } = (event.data ?? {}) as Record<string, unknown>;
    for (const name of ['from', 'to'] as const) {
      if (typeof data[name] === 'string') data[name] = maskPhoneNumber(data[name] as string);
    }
    timeline.push({
      id: event.id,
      type: event.type,
      ...(event.status === undefined ? {} : { status: event.status }),
      occurredAt: event.occurredAt,
      data,
    });
    // Provider webhooks arrive out of order now and then: keep the timeline in provider time.
    timeline.sort((a, b) =>
      a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : 0,
    );
    if (timeline.length > maxEventsPerCall) timeline.shift();
  };

  // Nothing stays dead: a subscriber that fell behind (a busy process) is told `lagged` and
  // dropped by the bus; it picks up again from its last cursor, from history.
  const running = (async () => {
    let subscription = first;
    let cursor: string | undefined;
    while (!stop.signal.aborted) {
      let lagged = false;
      for await (const message of subscription) {
        if (message.type === 'event') {
          cursor = message.cursor;
          record(message.event);
        } else if (message.type === 'lagged') {
          lagged = true;
          cursor = message.cursor ?? cursor;
        }
      }
      if (!lagged || stop.signal.aborted) return;
      subscription = subscribe(cursor);
    }
  })().catch(() => {
    // The bus closed: the app is shutting down.
  });

  return {
    get: (callId) => [...(timelines.get(callId) ?? [])],
    recentAlerts: () => [...alerts],
    ready: first.ready,
    async close() {
      stop.abort();
      await running;
    },
  };
}
