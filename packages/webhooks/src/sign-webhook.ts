import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '@calltrack/core';
import { decodeWebhookSecret } from './webhook-secret';

/** What {@link signWebhook} signs. */
export interface SignWebhookInput {
  /** The `webhook-id`: the message id, the same on every attempt and replay. */
  id: string;
  /** The `webhook-timestamp`: Unix seconds of this attempt. */
  timestamp: number;
  /** The exact body sent. */
  body: string;
  /** The `whsec_` secrets to sign with: the current one first, then any still in their grace period. */
  secrets: readonly string[];
}

// Keys decoded once per secret: every attempt of an endpoint signs with the same few secrets.
const keys = new Map<string, KeyObject>();

function keyOf(secret: string): KeyObject | undefined {
  let key = keys.get(secret);
  if (!key) {
    const bytes = decodeWebhookSecret(secret);
    if (!bytes) return undefined;
    key = createSecretKey(bytes);
    if (keys.size >= 1000) keys.delete(keys.keys().next().value!);
    keys.set(secret, key);
  }
  return key;
}

/**
 * The `webhook-signature` header value of Standard Webhooks: one `v1,<base64 HMAC-SHA256>` per
 * secret over `id.timestamp.body`, separated by spaces, so a receiver holding either the old or
 * the new secret verifies during a rotation.
 */
export function signWebhook({ id, timestamp, body, secrets }: SignWebhookInput): string {
  if (id.includes('.') || !Number.isInteger(timestamp)) {
    throw new InvalidArgumentError({
      message: 'signWebhook: the id must not contain "." and the timestamp must be whole seconds.',
    });
  }
  const content = `${id}.${timestamp}.${body}`;
  const signatures: string[] = [];
  for (const secret of secrets) {
    const key = keyOf(secret);
    if (!key) throw new InvalidArgumentError({ message: 'signWebhook: a secret is not base64.' });
    signatures.push(`v1,${createHmac('sha256', key).update(content).digest('base64')}`);
  }
  if (signatures.length === 0) {
    throw new InvalidArgumentError({ message: 'signWebhook needs at least one secret.' });
  }
  return signatures.join(' ');
}
