import type { SimulatorStats } from './simulator-stats';

/**
 * The CLI's closing summary: calls, outcomes, deliveries, latency, HTTP statuses and the seed.
 *
 * @internal
 */
export function formatSummary(stats: SimulatorStats, seed: number): string[] {
  const list = (counts: Record<string, number>, separator = ' ') =>
    Object.entries(counts)
      .filter(([, count]) => count > 0)
      .map(([name, count]) => `${name}${separator}${count}`)
      .join(', ') || 'none';
  return [
    'calltrack-sim summary',
    `  calls      ${stats.started} started, ${stats.completed} completed${stats.aborted > 0 ? `, ${stats.aborted} aborted` : ''}${stats.skipped > 0 ? `, ${stats.skipped} skipped (max active)` : ''} (${list(stats.byProvider)})`,
    `  outcomes   ${list(stats.byOutcome)}`,
    // Sent and failed count deliveries (retries included); lost and rejected count webhooks.
    `  webhooks   ${stats.deliveries} sent, ${stats.failedDeliveries} failed, ${stats.retries} retries, ${stats.lostWebhooks} lost (${stats.rejectedWebhooks} rejected), ${stats.duplicateDeliveries} duplicates, ${stats.reorderedCalls} calls out of order`,
    `  HTTP       ${list(stats.byHttpStatus, ' ×')}`,
    `  latency    avg ${stats.averageLatencyMs} ms, max ${Math.round(stats.maxLatencyMs * 10) / 10} ms`,
    `  seed       ${seed} (replay with --seed ${seed})`,
  ];
}
