import { RedisUnavailableError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { createFanOutOutage } from './create-fan-out-outage';
import { EventsMissedError } from './errors/events-missed-error';

const down = () => new RedisUnavailableError({ message: 'Redis cannot be reached.' });

describe('createFanOutOutage', () => {
  it('is not over while the batch still fails, and reports other failures every time', () => {
    const reported: string[] = [];
    let now = 0;
    const outage = createFanOutOutage((error) => reported.push(error.message), {
      now: () => now,
    });
    outage.failed(down(), 'batch');
    now += 1_000;
    outage.failed(down(), 'cursors');
    // The cursors are saved while the batch is still retried: not over.
    outage.worked('cursors');
    const missed = new EventsMissedError({ tenantId: 'acme', message: 'gone' });
    outage.failed(missed);
    outage.failed(missed);
    expect(reported).toEqual(['Redis cannot be reached.', 'gone', 'gone']);
    now += 500;
    outage.worked('batch');
    expect(reported.slice(3)).toEqual([
      'Fanning bus events out to webhooks works again after 1.5 s and 2 failures (only the first was reported).',
    ]);
    outage.worked('batch');
    expect(reported).toHaveLength(4);
  });
});
