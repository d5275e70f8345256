'use client';

import type { CallTrackApi } from './create-call-track-api';
import { useCallTrackClient } from './use-call-track-client';

/** The client's HTTP API; throws when the client was created without `api`. @internal */
export function useCallTrackApi(hook: string): CallTrackApi {
  const { api } = useCallTrackClient();
  if (api === undefined) {
    throw new Error(
      `${hook}: give the client the tracker's HTTP API: createCallTrackClient({ transport, api: { baseUrl: '/api' } })`,
    );
  }
  return api;
}
