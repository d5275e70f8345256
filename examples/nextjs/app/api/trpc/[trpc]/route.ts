import { withSseRetry } from '@calltrack/trpc';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getAppRouter } from '../../../../server/app-router';
import { checkBrowserRequest } from '../../../../server/check-browser-request';
import { createContext } from '../../../../server/trpc';

// Subscriptions are long-lived Server-Sent Events streams from the Node.js runtime.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * Every tRPC call: queries (batched GET), and `calltrack.onCallEvent` as an SSE stream, which
 * `withSseRetry` opens with `retry: 1000` (a dropped stream resumes within 1 s, not the
 * browser's 3). A request naming another host (a site rebound to this machine) is refused 403
 * (checkBrowserRequest).
 */
const handle = withSseRetry(async (request: Request): Promise<Response> => {
  const refusal = checkBrowserRequest(request);
  if (refusal) return refusal;
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: getAppRouter(),
    createContext: () => createContext(request),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR')
        console.error(`tRPC ${path ?? '?'} failed`, error);
    },
  });
});

export { handle as GET, handle as POST };
