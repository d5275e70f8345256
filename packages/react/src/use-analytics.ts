'use client';

import type { CallAnalytics } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AnalyticsRange, CallTrackApi } from './create-call-track-api';
import { useCallEvents } from './use-call-events';
import { useCallTrackApi } from './use-call-track-api';

/** Options of {@link useAnalytics} besides the range. */
export interface UseAnalyticsOptions {
  /**
   * After a `call.ended` arrives, wait this long for more before reloading (a burst of ends is
   * one reload). Default 1,000 ms.
   */
  debounceMs?: number;
}

/** What {@link useAnalytics} returns. */
export interface UseAnalyticsResult {
  /**
   * The last analytics loaded; kept while a reload runs (of the same client: when the provider's
   * client changes, another tenant's, it is undefined until that client's API answers).
   */
  data: CallAnalytics | undefined;
  /** True while a load runs. */
  loading: boolean;
  /** The last load's failure (a `CallTrackApiError`), cleared by the next success. */
  error: Error | undefined;
  /** Loads again now; resolves when done (it never rejects: read `error`). */
  refresh(): Promise<void>;
}

const defaultDebounceMs = 1_000;

/** What the hook holds, and the API it holds it from (another client's API: another tenant). */
interface AnalyticsState extends Omit<UseAnalyticsResult, 'refresh'> {
  api: CallTrackApi;
}

/** Nothing loaded yet from `api`. */
function firstLoadOf(api: CallTrackApi): AnalyticsState {
  return { api, data: undefined, loading: true, error: undefined };
}

/**
 * The tracker's analytics of the tenant (`GET /calls/analytics`, the client needs `api`) over
 * `range`, loaded when the component mounts and when the range changes, and reloaded (debounced)
 * whenever a `call.ended` arrives on the stream. Without a `to` the range ends now, so each
 * reload counts the calls that just ended.
 *
 * @example
 * const { data, loading, error } = useAnalytics({ granularity: 'hour' });
 */
export function useAnalytics(
  range: AnalyticsRange = {},
  options: UseAnalyticsOptions = {},
): UseAnalyticsResult {
  const api = useCallTrackApi('useAnalytics');
  const debounceMs = options.debounceMs ?? defaultDebounceMs;
  const key = JSON.stringify([timeKey(range.from), timeKey(range.to), range.granularity ?? null]);
  const [held, setState] = useState<AnalyticsState>(() => firstLoadOf(api));
  // The provider's client changed (another tenant): nothing held so far is its data.
  const state = held.api === api ? held : firstLoadOf(api);
  const current = useRef<AbortController | undefined>(undefined);

  const load = useCallback(async (): Promise<void> => {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    /** What is held, as far as it came from this API. */
    const ofThisApi = (previous: AnalyticsState): AnalyticsState =>
      previous.api === api ? previous : firstLoadOf(api);
    setState((previous) => {
      const own = ofThisApi(previous);
      return own.loading ? own : { ...own, loading: true };
    });
    try {
      // The range, from its key: a new range is a new `load`.
      const [from, to, granularity] = JSON.parse(key) as [
        string | number | null,
        string | number | null,
        AnalyticsRange['granularity'] | null,
      ];
      const data = await api.getAnalytics(
        {
          ...(from === null ? {} : { from }),
          ...(to === null ? {} : { to }),
          ...(granularity === null ? {} : { granularity }),
        },
        { signal: controller.signal },
      );
      if (current.current === controller) {
        setState({ api, data, loading: false, error: undefined });
      }
    } catch (failure) {
      if (current.current !== controller || controller.signal.aborted) return;
      const error = toError(failure);
      setState((previous) => ({ ...ofThisApi(previous), loading: false, error }));
    } finally {
      if (current.current === controller) current.current = undefined;
    }
  }, [api, key]);

  useEffect(() => {
    void load();
    return () => {
      current.current?.abort();
      current.current = undefined;
    };
  }, [load]);

  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  // A reload waiting for its debounce is of the current client and range: not a stale `load`.
  const latestLoad = useRef(load);
  useEffect(() => {
    latestLoad.current = load;
  });
  useCallEvents({ types: ['call.ended'] }, () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void latestLoad.current(), debounceMs);
  });

  return { data: state.data, loading: state.loading, error: state.error, refresh: load };
}

function timeKey(value: AnalyticsRange['from']): string | number | null {
  if (value === undefined) return null;
  return value instanceof Date ? value.getTime() : value;
}
