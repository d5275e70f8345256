import { getCallControlHandler } from '../../../../server/call-control-handler';
import { checkBrowserRequest } from '../../../../server/check-browser-request';
import { serveRecording } from '../../../../server/recording-handler';
import { demoTenantOf } from '../../../../server/trpc';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * The tracker's API under `/api/calls`: `POST /api/calls` places a call (what "Call Now" sends,
 * through `useCallControl`), `POST /api/calls/:id/terminate` ends one, and the `GET` read routes.
 * Bad input is a 400, another tenant's call a 404, a provider's refusal a 422 or 502.
 * `GET /api/calls/:id/recording` plays a call's recording through the app. Requests naming
 * another host, and writes from pages of another origin, are refused 403 (checkBrowserRequest).
 */
async function handle(request: Request): Promise<Response> {
  const refusal = checkBrowserRequest(request);
  if (refusal) return refusal;
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
  return getCallControlHandler()(request);
}

export { handle as GET, handle as POST };
