'use client';

import type { CallEvent } from '@calltrack/core';
import { useMemo } from 'react';
import type { CallTrackState } from './call-track-state';
import { useCallTrackClient } from './use-call-track-client';
import { useCallTrackState } from './use-call-track-state';

/** What {@link useAlerts} returns. */
export interface UseAlertsResult {
  /** The `alert.*` events received, newest first (at most `limit`), minus the dismissed ones. */
  alerts: readonly CallEvent[];
  /** Removes one alert (by event id), for every component that shows alerts. */
  dismiss(id: string): void;
  /** Removes every alert. */
  clear(): void;
}

const selectAlerts = (state: CallTrackState) => state.alerts;

/**
 * The tracker's alerts (`alert.concurrency_exceeded`, `alert.long_call`,
 * `alert.failed_call_rate`, `alert.no_agent_available`) as they arrive on the stream, newest
 * first. They live in the client, so every component sees the same list and a dismissal
 * everywhere; the client keeps `maxAlerts` (default 50). The stream must carry `alert.*` events
 * (an SSE URL with `?types=call.*` filters them out: add `alert.*`). Re-renders only when the
 * list changes.
 *
 * @example
 * const { alerts, dismiss } = useAlerts({ limit: 5 });
 */
export function useAlerts(options: { limit?: number } = {}): UseAlertsResult {
  const client = useCallTrackClient();
  const all = useCallTrackState(selectAlerts);
  const { limit } = options;
  const alerts = useMemo(
    () => (limit === undefined || all.length <= limit ? all : all.slice(0, Math.max(0, limit))),
    [all, limit],
  );
  return { alerts, dismiss: client.dismissAlert, clear: client.clearAlerts };
}
