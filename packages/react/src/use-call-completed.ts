'use client';

import type { CallEvent, CallSnapshot } from '@calltrack/core';
import { useRef } from 'react';
import { callKey, maxRememberedEndedCalls } from './active-calls-reconciler';
import { useCallEvents } from './use-call-events';

/**
 * Calls `onCompleted` once per call when it ends (`call.ended`), for popups and toasts. A
 * repeated `call.ended` of the same call (same tenant and call id) does not fire again, among the
 * last 1,000 calls that ended while mounted (as many as the client remembers to keep ended calls
 * ended): a wallboard open for days does not grow without bound.
 */
export function useCallCompleted(
  onCompleted: (event: CallEvent, call: CallSnapshot | undefined) => void,
): void {
  const seen = useRef(new Set<string>());
  useCallEvents({ types: ['call.ended'] }, (event) => {
    const key = event.callId === undefined ? event.id : callKey(event.tenantId, event.callId);
    const fired = seen.current;
    if (fired.has(key)) return;
    fired.add(key);
    if (fired.size > maxRememberedEndedCalls) {
      const oldest = fired.values().next().value;
      if (oldest !== undefined) fired.delete(oldest);
    }
    const call = event.data?.call;
    onCompleted(event, call);
  });
}
