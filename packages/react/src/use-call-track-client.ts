'use client';

import { useContext } from 'react';
import { CallTrackContext } from './call-track-provider';
import type { CallTrackClient } from './create-call-track-client';

/** The client of the nearest `CallTrackProvider`; throws outside of one. */
export function useCallTrackClient(): CallTrackClient {
  const client = useContext(CallTrackContext);
  if (!client) throw new Error('useCallTrackClient: wrap your components in <CallTrackProvider>');
  return client;
}
