import { getCallControlHandler } from '../../../../server/call-control-handler';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * The tracker's API under `/api/calls`: `POST /api/calls` places a call (what "Call Now" sends,
 * through `useCallControl`), `POST /api/calls/:id/terminate` ends one, and the `GET` read routes.
 * Bad input is a 400, another tenant's call a 404, a provider's refusal a 422 or 502.
 */
async function handle(request: Request): Promise<Response> {
  // Twilio's status callbacks come back to the origin the page was served from.
  const host = request.headers.get('host');
  const url = new URL(request.url);
  return getCallControlHandler(`${url.protocol}//${host ?? url.host}`)(request);
}

export { handle as GET, handle as POST };
