import type { ScriptedWebhook } from './call-script';
import { drawRetryDelayMs } from './provider-retry-delay';
import type { Random } from './random';

/** One HTTP delivery of a call, in the order they go out. @internal */
export interface PlannedDelivery {
  webhook: ScriptedWebhook;
  /** The webhook's index in the script. */
  index: number;
  /** When it goes out, ms after the call started (simulated time). */
  atMs: number;
  duplicate: boolean;
  reordered: boolean;
  /** 0 for a planned delivery; n for the nth retry of one that failed. */
  retry: number;
  /**
   * Wall-clock milliseconds the earlier attempts of this delivery took (a retry's), counted
   * against the provider's total timeout.
   */
  spentMs?: number;
}

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
    retry: 0,
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
    duplicates.push({
      ...delivery,
      atMs: delivery.atMs + drawRetryDelayMs(delivery.webhook.provider, random),
      duplicate: true,
    });
  }
  // Stable: equal times keep script order, an original before its duplicate.
  return [...planned, ...duplicates]
    .map((delivery, order) => ({ delivery, order }))
    .sort((left, right) => left.delivery.atMs - right.delivery.atMs || left.order - right.order)
    .map(({ delivery }) => delivery);
}
