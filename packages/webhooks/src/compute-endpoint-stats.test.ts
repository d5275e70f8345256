import { describe, expect, it } from 'vitest';
import { computeEndpointStats } from './compute-endpoint-stats';
import type { WebhookAttempt } from './webhook-delivery';

const now = Date.parse('2026-01-02T00:00:00Z');
const row = (
  durationMs: number,
  status: 'succeeded' | 'failed',
  startedAt: number,
  trigger: WebhookAttempt['trigger'] = 'event',
): WebhookAttempt => ({
  id: `att_${startedAt}`,
  tenantId: 't',
  endpointId: 'ep',
  messageId: 'msg',
  eventType: 'call.ended',
  url: 'https://example.com',
  attempt: 1,
  trigger,
  status,
  statusCode: status === 'succeeded' ? 200 : 500,
  durationMs,
  responseBody: '',
  ...(status === 'failed' ? { error: 'HTTP 500' } : {}),
  startedAt,
});

describe('computeEndpointStats', () => {
  it('computes the success rate, percentiles and the last error, without test sends', () => {
    const attempts = [
      row(999, 'failed', now - 1, 'test'),
      ...Array.from({ length: 20 }, (_, index) =>
        row((index + 1) * 10, index === 3 ? 'failed' : 'succeeded', now - 10 - index),
      ),
    ];
    const stats = computeEndpointStats(attempts, 3_600_000, now);
    expect(stats).toMatchObject({ attempts: 20, succeeded: 19, failed: 1, successRate: 0.95 });
    expect(stats.latencyMs).toEqual({ p50: 100, p95: 190 });
    expect(stats.lastError).toEqual({
      at: new Date(now - 13).toISOString(),
      statusCode: 500,
      message: 'HTTP 500',
    });
    expect(stats.lastSuccessAt).toBe(new Date(now - 10).toISOString());
  });

  it('reports nulls for an idle endpoint', () => {
    expect(computeEndpointStats([], 60_000, now)).toMatchObject({
      attempts: 0,
      successRate: null,
      latencyMs: null,
      lastError: null,
      lastSuccessAt: null,
    });
  });
});
