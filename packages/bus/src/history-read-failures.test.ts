import { describe, expect, it } from 'vitest';
import { createHistoryReadFailures } from './history-read-failures';

describe('createHistoryReadFailures', () => {
  it('reports the first failure, then once when every failing reader read again', () => {
    const reported: string[] = [];
    let now = 0;
    const failures = createHistoryReadFailures(
      (error) => reported.push(error.message),
      () => now,
    );
    const a = {};
    const b = {};
    failures.failed(a, new Error('Connection is closed.'));
    failures.failed(b, new Error('Connection is closed.'));
    now = 1_500;
    failures.failed(a, new Error('Connection is closed.'));
    failures.succeeded(a); // b still fails (a Cluster node of its tenant is down)
    expect(reported).toEqual(['Connection is closed.']);
    failures.succeeded(b);
    expect(reported).toEqual([
      'Connection is closed.',
      "The Redis bus's history reads work again after 1.5 s and 3 failed reads (only the first was reported).",
    ]);
    failures.succeeded(a); // no incident: nothing
    failures.failed(a, new Error('again'));
    expect(reported.at(-1)).toBe('again');
  });

  it('lets a reader that ended while failing leave the incident without a "back"', () => {
    const reported: string[] = [];
    const failures = createHistoryReadFailures((error) => reported.push(error.message));
    const reader = {};
    failures.failed(reader, new Error('down'));
    failures.ended(reader);
    failures.failed({}, new Error('down again'));
    expect(reported).toEqual(['down', 'down again']);
  });
});
