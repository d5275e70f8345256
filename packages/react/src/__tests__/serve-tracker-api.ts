import { createServer } from 'node:http';
import { toNodeHandler } from '@calltrack/core/node';
import { serveForTest } from '@calltrack/test-utils';
import {
  type CallTracker,
  type CreateTrackerHandlerOptions,
  createTrackerHandler,
} from '@calltrack/tracker';
import type { CallTrackApiOptions } from '../create-call-track-api';

/**
 * The tracker's HTTP API (`/api`, bearer token = tenant id, or `all-tenants` for a super-admin) on
 * 127.0.0.1, on its own server.
 */
export interface TrackerApiServer {
  /** The client's `api` option for tenant `tenantId`. */
  apiOptions(tenantId?: string): CallTrackApiOptions;
  close(): Promise<void>;
}

export async function serveTrackerApi(
  tracker: CallTracker,
  handlerOptions: Pick<CreateTrackerHandlerOptions, 'callControl'> = {},
): Promise<TrackerApiServer> {
  const served = await serveForTest(
    createServer(
      toNodeHandler(
        createTrackerHandler({
          tracker,
          basePath: '/api',
          logger: {},
          ...handlerOptions,
          authenticate: (request) => {
            const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
            // `all-tenants`: a super-admin console's principal.
            if (token === 'all-tenants') return { tenantId: 'ops', allTenants: true };
            return token ? { tenantId: token } : null;
          },
        }),
      ),
    ),
  );
  return {
    apiOptions: (tenantId = 'tenant-a') => ({
      baseUrl: `${served.url}/api`,
      headers: { authorization: `Bearer ${tenantId}` },
    }),
    close: () => served.close(),
  };
}
