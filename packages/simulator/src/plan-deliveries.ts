import type { ScriptedWebhook } from './call-script';
import type { Random } from './random';
import type { SimulatorProvider } from './simulator-provider';

/** One HTTP delivery of a call, in the order they go out. @internal */
export interface PlannedDelivery {
  webhook: ScriptedWebhook;
  /** The webhook's index in the script. */
  index: number;
  /** When it goes out, ms after the call started (simulated time). */
  atMs: number;
  duplicate: boolean;
  reordered: boolean;
}

/** How long each provider waits before retrying a webhook (simulated ms). */
const retryDelayMs: Readonly<Record<SimulatorProvider, readonly [number, number]>> = {
  // Twilio retries once after a failed or timed-out attempt (connection overrides: up to 15 s).
  twilio: [1000, 15_000],
  // Retell retries after its 10 s timeout.
  retell: [10_000, 12_000],
  callerdesk: [5000, 30_000],
};

/**
 * Turns a script into deliveries: with `reorder`, one webhook is held back until just after a
 * later one (marked `reordered`); then each webhook is, with probability `duplicateRate`,
 * delivered a second time after the provider's retry delay (marked `duplicate`).
 *
 * @internal
 */
export function planDeliveries(
  webhooks: readonly ScriptedWebhook[],
  options: { random: Random; duplicateRate: number; reorder: boolean },
): PlannedDelivery[] {
  const { random } = options;
  const planned: PlannedDelivery[] = webhooks.map((webhook, index) => ({
    webhook,
    index,
    atMs: webhook.atMs,
    duplicate: false,
    reordered: false,
  }));
  if (options.reorder && planned.length >= 2) {
    const later = random.int(1, planned.length - 1);
    const earlier = random.int(0, later - 1);
    const held = planned[earlier]!;
    held.atMs = planned[later]!.atMs + Math.round(random.between(50, 800));
    held.reordered = true;
  }
  const duplicates: PlannedDelivery[] = [];
  for (const delivery of planned) {
    if (!random.chance(options.duplicateRate)) continue;
    const [min, max] = retryDelayMs[delivery.webhook.provider];
    duplicates.push({
      ...delivery,
      atMs: delivery.atMs + Math.round(random.between(min, max)),
      duplicate: true,
    });
  }
  // Stable: equal times keep script order, an original before its duplicate.
  return [...planned, ...duplicates]
    .map((delivery, order) => ({ delivery, order }))
    .sort((left, right) => left.delivery.atMs - right.delivery.atMs || left.order - right.order)
    .map(({ delivery }) => delivery);
}
