/**
 * The source address Retell documents for its webhooks (docs.retellai.com/features/secure-webhook).
 * Pass it as `allowIp` to the webhook handler as a second check next to the signature; keep the
 * signature check, since addresses can change.
 */
export const retellWebhookIpAddresses: readonly string[] = ['100.20.5.228'];
