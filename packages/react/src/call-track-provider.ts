'use client';

import { createContext, createElement, type ReactNode, useEffect } from 'react';
import type { CallTrackClient } from './create-call-track-client';

/** The client of the nearest `CallTrackProvider`; read it with `useCallTrackClient`. */
export const CallTrackContext = createContext<CallTrackClient | undefined>(undefined);

/** Props of {@link CallTrackProvider}. */
export interface CallTrackProviderProps {
  /** From `createCallTrackClient`; create it once (module scope or `useState`). */
  client: CallTrackClient;
  children?: ReactNode;
}

/**
 * Gives the hooks below it a client, and keeps the client's connection open while mounted.
 *
 * @example
 * <CallTrackProvider client={client}><Dashboard /></CallTrackProvider>
 */
export function CallTrackProvider({ client, children }: CallTrackProviderProps): ReactNode {
  useEffect(() => client.connect(), [client]);
  return createElement(CallTrackContext.Provider, { value: client }, children);
}
