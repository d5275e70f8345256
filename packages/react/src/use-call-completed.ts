'use client';

import type { CallEvent, CallSnapshot } from '@calltrack/core';
import { useRef } from 'react';
import { useCallEvents } from './use-call-events';

/**
 * Calls `onCompleted` once per call when it ends (`call.ended`), for popups and toasts. A
 * repeated `call.ended` of the same call does not fire again.
 */
export function useCallCompleted(
  onCompleted: (event: CallEvent, call: CallSnapshot | undefined) => void,
): void {
  const seen = useRef(new Set<string>());
  useCallEvents({ types: ['call.ended'] }, (event) => {
    const key = event.callId ?? event.id;
    if (seen.current.has(key)) return;
    seen.current.add(key);
    const call = event.data?.call;
    onCompleted(event, call);
  });
}
