import { createCallTrackRouter } from '@calltrack/trpc';
import { type CallTrackServer, getCallTrackServer } from './calltrack-server';
import { createCampaignRouter } from './campaign-router';
import { t } from './trpc';

function createAppRouter(server: CallTrackServer) {
  return t.router({
    // `onCallEvent` (subscription) and `activeCalls` (query), tenant from the context.
    calltrack: createCallTrackRouter({
      t,
      bus: server.bus,
      tracker: server.tracker,
      authenticate: (ctx) => (ctx.tenantId ? { tenantId: ctx.tenantId } : null),
    }),
    campaign: createCampaignRouter(server),
  });
}

/** The app's router type, for the typed client. */
export type AppRouter = ReturnType<typeof createAppRouter>;

let appRouter: AppRouter | undefined;

/**
 * The app's tRPC router: calltrack's procedures plus the campaign page's own. Built on first
 * use, so that `next build` (which loads the route module) creates no bus and opens no Redis
 * connection.
 */
export function getAppRouter(): AppRouter {
  appRouter ??= createAppRouter(getCallTrackServer());
  return appRouter;
}
