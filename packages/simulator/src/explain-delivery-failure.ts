import { maskPhoneNumber } from '@calltrack/core';
import type { SimulatorDelivery } from './simulator-delivery';

const secretHints = {
  twilio:
    "the auth token does not match: the app checks X-Twilio-Signature with another Twilio Auth Token (give the simulator the app's token with TWILIO_AUTH_TOKEN or --twilio-auth-token). Behind a proxy or tunnel, the app must also sign-check the URL the simulator targets (publicUrl).",
  retell:
    "the API key does not match: the app checks x-retell-signature with another Retell API key (give the simulator the app's key with RETELL_API_KEY or --retell-api-key), or the two clocks are more than 5 minutes apart.",
  callerdesk:
    "the webhook token does not match: the app expects another CallerDesk token (give the simulator the app's token with CALLERDESK_TOKEN or --callerdesk-token); the simulator sends it as ?token=.",
} as const;

const providerNames = { twilio: 'Twilio', retell: 'Retell', callerdesk: 'CallerDesk' } as const;

/**
 * One sentence telling a person why a delivery failed and what to do about it, e.g.
 * `401 from /webhooks/twilio: the auth token does not match: …`. For the CLI's error output.
 *
 * @internal
 */
export function explainDeliveryFailure(delivery: SimulatorDelivery): string {
  const url = new URL(delivery.url);
  const where = `${url.pathname}`;
  const { status } = delivery;
  const detail = `${delivery.error === undefined ? '' : ` (the app said: ${delivery.error})`}${delivery.willRetry ? `; ${providerNames[delivery.provider]} sends it again` : ''}`;
  if (status === 0) {
    return `no answer from ${url.origin}${where}: ${delivery.error ?? 'network error'}${delivery.willRetry ? ` (${providerNames[delivery.provider]} sends it again)` : ''}. Is the app running, and is --target right?`;
  }
  if (status === 401 || status === 403) {
    return `${status} from ${where}: ${secretHints[delivery.provider]}${detail}`;
  }
  if (status === 404) {
    return `404 from ${where}: nothing answers at this path. Check --path-prefix (the Next.js example uses /api/webhooks) or --${delivery.provider}-path.`;
  }
  if (status === 405) {
    return `405 from ${where}: the app does not accept ${delivery.method} there. Mount the ${delivery.provider} handler for ${delivery.method}${delivery.provider === 'callerdesk' ? ' (or use --callerdesk-method)' : ''}.`;
  }
  if (status === 422) {
    const line =
      delivery.kind.startsWith('status:') || delivery.provider !== 'twilio'
        ? `the numbers ${maskPhoneNumber(delivery.from)} → ${maskPhoneNumber(delivery.to)}`
        : 'this callback (Twilio recording and AMD callbacks carry no numbers, only ?tenant= in the URL)';
    return `422 from ${where}: the app knows no tenant for ${line}. Its resolveTenant must know the simulator's lines (findDemoLine from @calltrack/simulator).${detail}`;
  }
  if (status === 429) {
    return `429 from ${where}: the app's rate limit refused it${detail}. Send fewer webhooks at once (--rate, --max-active, --speed) or raise the app's rateLimit.`;
  }
  if (status >= 400 && status < 500) {
    return `${status} from ${where}: the app refused the ${delivery.provider} ${delivery.kind} webhook${detail}.`;
  }
  return `${status} from ${where}: the app failed on the ${delivery.provider} ${delivery.kind} webhook${detail}.`;
}

/**
 * A failed duplicate of a webhook the app took, for the CLI's error output: the answer, and that
 * nothing is lost (an app may well refuse a webhook it already has), e.g. `409 (Already
 * processed.) from /webhooks/twilio to a duplicate of the twilio status:ringing webhook, which
 * the app took: nothing is lost.`
 *
 * @internal
 */
export function explainFailedDuplicate(delivery: SimulatorDelivery): string {
  const { pathname } = new URL(delivery.url);
  const retry = delivery.willRetry ? `; ${providerNames[delivery.provider]} sends it again` : '';
  return `${lastAnswer(delivery)} from ${pathname} to a duplicate of the ${delivery.provider} ${delivery.kind} webhook, which the app took: nothing is lost${retry}.`;
}

/**
 * Why a webhook is lost, for the CLI's stop message: which one, the last answer (a 5xx, a timeout,
 * a failed connection) and that its provider retries it no more, e.g. `a Retell call_ended
 * webhook was lost: 503 (Bus down.); Retell's retries are exhausted (3 made)`.
 *
 * @internal
 */
export function explainLostWebhook(delivery: SimulatorDelivery): string {
  const provider = providerNames[delivery.provider];
  const retries =
    delivery.retry === 0
      ? `${provider} does not retry it`
      : `${provider}'s retries are exhausted (${delivery.retry} made)`;
  return `a ${provider} ${delivery.kind} webhook was lost: ${lastAnswer(delivery)}; ${retries}`;
}

/** The status and the app's message (`503 (Bus down.)`), or the network error or timeout. */
function lastAnswer({ status, error }: SimulatorDelivery): string {
  if (status !== 0) {
    return error === undefined || error === `HTTP ${status}`
      ? String(status)
      : `${status} (${error})`;
  }
  if (error === undefined) return 'no answer';
  return error.startsWith('no answer') ? error : `no answer (${error})`;
}
