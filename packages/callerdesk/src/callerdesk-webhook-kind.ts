/** Which webhook a payload came from: the Live Call webhook (during the call) or the Call Report (after it). */
export type CallerDeskWebhookKind = 'live' | 'report';
