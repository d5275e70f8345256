'use client';

import { useEffect, useRef } from 'react';
import { type CallEventFilter, matchesCallEventFilter } from './call-event-filter';
import type { CallEventListener } from './create-call-track-client';
import { useCallTrackClient } from './use-call-track-client';

/**
 * Calls `onEvent` for every live call event matching `filter` (`{ callId?, types? }` or a
 * predicate). The latest `onEvent` and `filter` are used, so inline functions are fine.
 */
export function useCallEvents(
  filter: CallEventFilter | undefined,
  onEvent: CallEventListener,
): void {
  const client = useCallTrackClient();
  const latest = useRef({ filter, onEvent });
  useEffect(() => {
    latest.current = { filter, onEvent };
  });
  useEffect(
    () =>
      client.onEvent((event, cursor) => {
        if (matchesCallEventFilter(latest.current.filter, event)) {
          latest.current.onEvent(event, cursor);
        }
      }),
    [client],
  );
}
