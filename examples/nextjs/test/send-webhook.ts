import {
  type CallScript,
  createCallScript,
  createSignedRequest,
  demoCredentials,
  demoLines,
  type ScriptedWebhook,
  type SimulatedOutcome,
  type SimulatorCredentials,
  type SimulatorProvider,
} from '@calltrack/simulator';

/** The example's webhook paths, for `createSimulator({ paths })`. */
export const webhookPaths = {
  twilio: '/api/webhooks/twilio',
  retell: '/api/webhooks/retell',
  callerdesk: '/api/webhooks/callerdesk',
} as const satisfies Record<SimulatorProvider, string>;

// The app under test starts empty (memory backend), so fixed seeds give fresh call ids.
let seed = 1000;

/**
 * Scripts one call of a demo line of `provider` (nothing sent yet). The call is dated a minute
 * back, so that the provider times in the payloads (answered at…) are in the past when the
 * tests send them one after the other without waiting, as they would be in real life.
 */
export function scriptCall(
  provider: SimulatorProvider,
  options: {
    outcome?: SimulatedOutcome;
    talkDurationMs?: number;
    direction?: 'inbound' | 'outbound';
    /** Only a script with this webhook kind will do (e.g. Twilio's `recording`, sent on most calls). */
    with?: string;
  } = {},
): CallScript {
  const line = demoLines.find((candidate) => candidate.provider === provider)!;
  for (;;) {
    seed += 1;
    const script = createCallScript({
      line,
      outcome: options.outcome ?? 'completed',
      seed,
      startedAt: Date.now() - 60_000,
      ...(options.talkDurationMs === undefined ? {} : { talkDurationMs: options.talkDurationMs }),
      ...(options.direction === undefined ? {} : { direction: options.direction }),
    });
    if (!options.with || webhooksOf(script, options.with).length > 0) return script;
  }
}

/** Sends one scripted webhook to the app, signed with the demo credentials. */
export function sendWebhook(
  baseUrl: string,
  webhook: ScriptedWebhook,
  credentials: Partial<SimulatorCredentials> = {},
): Promise<Response> {
  return fetch(
    createSignedRequest(webhook, {
      url: `${baseUrl}${webhookPaths[webhook.provider]}`,
      credentials: { ...demoCredentials, ...credentials },
    }),
  );
}

/** The webhooks of a script whose `kind` matches, in order. */
export function webhooksOf(script: CallScript, kind: string | RegExp): ScriptedWebhook[] {
  return script.webhooks.filter((webhook) =>
    typeof kind === 'string' ? webhook.kind === kind : kind.test(webhook.kind),
  );
}

/** The same webhook without its signature (Twilio, Retell) or token (CallerDesk). */
export function sendUnsignedWebhook(baseUrl: string, webhook: ScriptedWebhook): Promise<Response> {
  const { payload } = webhook;
  const url = `${baseUrl}${webhookPaths[webhook.provider]}`;
  const [contentType, body] =
    payload.type === 'form'
      ? ['application/x-www-form-urlencoded', new URLSearchParams(payload.params).toString()]
      : [
          'application/json',
          payload.type === 'json' ? payload.body : JSON.stringify(payload.fields),
        ];
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
}
