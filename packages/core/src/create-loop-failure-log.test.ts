import { describe, expect, it } from 'vitest';
import { createLoopFailureLog } from './create-loop-failure-log';
import { RedisUnavailableError } from './errors/redis-unavailable-error';
import { redisClientClosedError } from './redis-unavailable';

describe('createLoopFailureLog', () => {
  it('logs every failure as it is, but an ended Redis client once until a run works', () => {
    const logged: string[] = [];
    const log = createLoopFailureLog(
      { error: (message) => logged.push(message) },
      'Dialer reconciliations',
    );
    const down = new RedisUnavailableError({ message: 'Redis cannot be reached.' });
    log.failed('Reconciling failed.', { error: down });
    log.failed('Reconciling failed.', { error: down });
    for (let run = 0; run < 5; run += 1) {
      log.failed('Reconciling failed.', { error: redisClientClosedError() });
    }
    log.failed('Reconciling failed.', { error: new TypeError('a bug') });
    const endedLine =
      'Dialer reconciliations fail: their Redis client has ended (the app called quit() or disconnect(), or its retryStrategy gave up), a bug or a shutdown, not an outage. Reported once: they fail until the client connects again.';
    expect(logged).toEqual([
      'Reconciling failed.',
      'Reconciling failed.',
      endedLine,
      'Reconciling failed.',
    ]);
    log.worked();
    log.failed('Reconciling failed.', { error: redisClientClosedError() });
    expect(logged.at(-1)).toBe(endedLine);
    expect(logged).toHaveLength(5);
  });
});
