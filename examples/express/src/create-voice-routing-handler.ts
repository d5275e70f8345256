import { verifyTwilioSignature } from '@calltrack/twilio';
import type { CallRouter } from './create-call-router';
import { resolveDemoTenant } from './resolve-demo-tenant';

/** Options of {@link createVoiceRoutingHandler}. */
export interface VoiceRoutingHandlerOptions {
  router: CallRouter;
  /** The Auth Token that signs Twilio's requests. */
  authToken: string;
  /** The public origin Twilio calls (a tunnel), for the signature; default the request's URL. */
  publicUrl?: string;
  /** Unexpected errors. Default `console.error`. */
  onError?: (error: unknown) => void;
}

const maxBodyBytes = 64 * 1024;

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (character) =>
      ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[character]!,
  );

const twiml = (body: string) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<Response>${body}</Response>`, {
    headers: { 'content-type': 'text/xml; charset=utf-8' },
  });

const problem = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

/** Rings an agent's Twilio Client (the console's softphone); voicemail after 20 s. */
export const dialAgentTwiml = (agentId: string) =>
  `<Dial timeout="20" answerOnBridge="true"><Client>${escapeXml(agentId)}</Client></Dial>` +
  '<Say>Sorry, nobody could take your call.</Say><Record maxLength="120" playBeep="true"/>';

/** What a caller hears when no agent is available. */
export const voicemailTwiml =
  '<Say>All our agents are busy right now. Please leave a message after the tone.</Say>' +
  '<Record maxLength="120" playBeep="true"/>';

/**
 * Twilio's voice webhook (the number's "A call comes in" URL), as the seed's `RouteIncomingCall`:
 * answers TwiML that dials an available agent, or takes a voicemail when none is. The request is
 * checked like the status callbacks: `X-Twilio-Signature` over the URL and the form body (401
 * without one, 403 when it does not match), the called number names the tenant (422 unknown).
 */
export function createVoiceRoutingHandler(
  options: VoiceRoutingHandlerOptions,
): (request: Request) => Promise<Response> {
  const onError = options.onError ?? ((error: unknown) => console.error('voice routing:', error));
  return async (request) => {
    if (request.method !== 'POST') {
      return new Response(null, { status: 405, headers: { allow: 'POST' } });
    }
    const signature = request.headers.get('x-twilio-signature');
    if (!signature) return problem(401, 'unauthenticated', 'X-Twilio-Signature is missing.');
    const type = request.headers.get('content-type') ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      return problem(415, 'unsupported_media_type', 'Expected a form body, as Twilio sends.');
    }
    if (Number(request.headers.get('content-length') ?? 0) > maxBodyBytes) {
      return problem(413, 'payload_too_large', 'The body is over 64 KiB.');
    }
    const body = await request.text();
    if (Buffer.byteLength(body) > maxBodyBytes) {
      return problem(413, 'payload_too_large', 'The body is over 64 KiB.');
    }
    const path = new URL(request.url);
    const url = options.publicUrl
      ? `${options.publicUrl.replace(/\/$/, '')}${path.pathname}${path.search}`
      : request.url;
    const params = new URLSearchParams(body);
    if (!verifyTwilioSignature({ authToken: options.authToken, url, signature, params })) {
      return problem(403, 'forbidden', 'X-Twilio-Signature does not match.');
    }
    const callSid = params.get('CallSid');
    if (!callSid || callSid.length > 64) {
      return problem(400, 'invalid_argument', 'CallSid is missing or too long.');
    }
    const tenant = resolveDemoTenant(params.get('To') ?? params.get('Called') ?? undefined);
    if (tenant === null) return problem(422, 'unknown_tenant', 'The called number is unknown.');
    try {
      const agent = await options.router.route(tenant.tenantId, callSid);
      return twiml(agent === undefined ? voicemailTwiml : dialAgentTwiml(agent));
    } catch (error) {
      // Presence could not be read: the caller still gets voicemail rather than an error.
      onError(error);
      return twiml(voicemailTwiml);
    }
  };
}
