import { createAttemptId } from './create-attempt-id';
import type { WebhookSender, WebhookSendResult } from './create-webhook-sender';
import { signWebhook } from './sign-webhook';
import type { WebhookClock } from './webhook-clock';
import type { AttemptTrigger, WebhookAttempt, WebhookMessage } from './webhook-delivery';
import type { StoredEndpoint } from './webhook-endpoint';

/** One signed POST of a message to an endpoint, and its log row (not yet saved). */
export interface SentAttempt {
  attempt: WebhookAttempt;
  result: WebhookSendResult;
  succeeded: boolean;
}

/** The secrets that sign now: the current one and rotated-out ones still in their grace period. */
export function signingSecrets(endpoint: StoredEndpoint, now: number): string[] {
  const secrets: string[] = [];
  for (const secret of endpoint.secrets) {
    if (secret.expiresAt === undefined || secret.expiresAt > now) secrets.push(secret.secret);
  }
  return secrets;
}

// What undici sends in a header value: tab, visible ASCII and U+0080–U+00FF (as Latin-1 bytes).
// Endpoints saved before values were held to visible ASCII may have anything else.
const sendableHeaderValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The first of an endpoint's headers whose value no request can carry (a control character, one
 * past U+00FF): undici refuses the whole request, so every attempt would fail the same way.
 */
function findUnsendableHeader(headers: Record<string, string>): string | undefined {
  for (const name in headers) if (!sendableHeaderValue.test(headers[name]!)) return name;
  return undefined;
}

/**
 * Signs and sends one attempt: the endpoint's custom headers, then the Standard Webhooks headers
 * (`webhook-id` = the message id, `webhook-timestamp` = now, `webhook-signature` with every
 * signing secret) over the message's exact body.
 */
export async function sendAttempt(
  sender: WebhookSender,
  clock: WebhookClock,
  endpoint: StoredEndpoint,
  message: WebhookMessage,
  trigger: AttemptTrigger,
  attemptNumber: number,
): Promise<SentAttempt> {
  const startedAt = clock.now();
  const timestamp = Math.floor(startedAt / 1000);
  const unsendable = findUnsendableHeader(endpoint.headers);
  const result: WebhookSendResult =
    unsendable !== undefined
      ? {
          kind: 'error',
          reason: 'unsendable_header',
          message: `Not sent: the value of the endpoint's header ${JSON.stringify(unsendable)} holds a character no HTTP request can carry (a control character, or one past U+00FF); edit the endpoint's headers, then recover its failed deliveries.`,
          durationMs: 0,
        }
      : await sender.send({
          url: endpoint.url,
          headers: {
            ...endpoint.headers,
            'webhook-id': message.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook({
              id: message.id,
              timestamp,
              body: message.body,
              secrets: signingSecrets(endpoint, startedAt),
            }),
          },
          body: message.body,
        });
  const succeeded =
    result.kind === 'response' && result.statusCode >= 200 && result.statusCode < 300;
  const error = succeeded
    ? undefined
    : result.kind === 'error'
      ? result.message
      : result.statusCode >= 300 && result.statusCode < 400
        ? `HTTP ${result.statusCode}: redirects are not followed; only 2xx counts as delivered.`
        : `HTTP ${result.statusCode}`;
  const attempt: WebhookAttempt = {
    id: createAttemptId(),
    tenantId: endpoint.tenantId,
    endpointId: endpoint.id,
    messageId: message.id,
    eventType: message.eventType,
    url: endpoint.url,
    attempt: attemptNumber,
    trigger,
    status: succeeded ? 'succeeded' : 'failed',
    statusCode: result.kind === 'response' ? result.statusCode : 0,
    durationMs: result.durationMs,
    responseBody: result.kind === 'response' ? result.body : '',
    startedAt,
  };
  if (error !== undefined) attempt.error = error;
  return { result, succeeded, attempt };
}
