import { NotFoundError, toErrorResponse } from '@calltrack/core';
import { getWebhookHandler } from '../../../../server/webhook-handlers';

// The provider handlers verify signatures with node:crypto and read the raw body.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * `POST /api/webhooks/twilio | retell | callerdesk` (and `GET` for CallerDesk, which can
 * deliver by GET): the provider's own fetch handler answers, with 401/403 for a bad signature,
 * 422 for an unknown number, 200 once the events are in the tracker. Any other provider is 404.
 */
async function handle(
  request: Request,
  { params }: { params: Promise<{ provider: string }> },
): Promise<Response> {
  const { provider } = await params;
  const handler = getWebhookHandler(provider);
  if (!handler) {
    return toErrorResponse(new NotFoundError({ message: 'Unknown webhook provider.' }));
  }
  return handler(request);
}

export { handle as GET, handle as POST };
