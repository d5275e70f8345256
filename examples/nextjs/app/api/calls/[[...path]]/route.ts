import { getCallControlHandler } from '../../../../server/call-control-handler';
import { serveRecording } from '../../../../server/recording-handler';
import { demoTenantOf } from '../../../../server/trpc';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * The tracker's API under `/api/calls`: `POST /api/calls` places a call (what "Call Now" sends,
 * through `useCallControl`), `POST /api/calls/:id/terminate` ends one, and the `GET` read routes.
 * Bad input is a 400, another tenant's call a 404, a provider's refusal a 422 or 502.
 * `GET /api/calls/:id/recording` plays a call's recording through the app.
 */
async function handle(request: Request): Promise<Response> {
  const recording = /^\/api\/calls\/([^/]+)\/recording$/.exec(new URL(request.url).pathname);
  // `/api/calls/active/recording` is the tracker's read of the call named `recording`; the call
  // named `active` comes as `%61ctive` (core's callIdPathSegment).
  if (recording && recording[1] !== 'active' && request.method === 'GET') {
    const tenantId = demoTenantOf(request);
    if (!tenantId) return Response.json({ error: { code: 'unauthorized' } }, { status: 401 });
    let callId: string;
    try {
      // As the tracker's routes read ids (decision 0064): `.` and `..` come as `%00.` and `%00..`,
      // since URLs resolve dot segments away; no call id holds a NUL.
      const decoded = decodeURIComponent(recording[1]!);
      callId = decoded.startsWith('\u0000') ? decoded.slice(1) : decoded;
    } catch {
      return Response.json({ error: { code: 'invalid_argument' } }, { status: 400 });
    }
    return serveRecording(tenantId, callId);
  }
  // Twilio's status callbacks come back to the origin the page was served from.
  const host = request.headers.get('host');
  const url = new URL(request.url);
  // The demo has no login: a page of another origin could otherwise hang up calls with a
  // bodyless POST (no preflight). Pages of the app's own origin (or PUBLIC_URL's) send theirs;
  // requests without `Origin` (curl, scripts) pass.
  const origin = request.headers.get('origin');
  if (request.method !== 'GET' && origin !== null && !isOwnOrigin(origin, host)) {
    return Response.json(
      {
        error: {
          code: 'origin_not_allowed',
          message: 'Requests that change calls come from the app’s own pages only.',
        },
      },
      { status: 403 },
    );
  }
  return getCallControlHandler(`${url.protocol}//${host ?? url.host}`)(request);
}

function isOwnOrigin(origin: string, host: string | null): boolean {
  if (origin === process.env.PUBLIC_URL?.replace(/\/+$/, '')) return true;
  return host !== null && (origin === `http://${host}` || origin === `https://${host}`);
}

export { handle as GET, handle as POST };
