import { randomBytes } from 'node:crypto';

/** The prefix Standard Webhooks puts before a symmetric (HMAC-SHA256) secret. */
export const webhookSecretPrefix = 'whsec_';

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A new endpoint secret: `whsec_` and the base64 of 24 random bytes, as Svix generates them
 * (Standard Webhooks asks for 24 to 64 bytes).
 */
export function generateWebhookSecret(): string {
  return `${webhookSecretPrefix}${randomBytes(24).toString('base64')}`;
}

/**
 * The key bytes of a `whsec_` secret (the prefix is optional, padding may be left out, as the
 * reference libraries accept). Undefined when the text is not base64 or holds no bytes.
 */
export function decodeWebhookSecret(secret: string): Buffer | undefined {
  const text = secret.startsWith(webhookSecretPrefix)
    ? secret.slice(webhookSecretPrefix.length)
    : secret;
  const padded = text.length % 4 === 0 ? text : text + '='.repeat(4 - (text.length % 4));
  if (!base64Pattern.test(padded) || padded.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(padded, 'base64');
  return bytes.length === 0 ? undefined : bytes;
}
