import { describe, expect, it } from 'vitest';
import { createHistoryReadFailures, forgottenAfterMs } from './history-read-failures';

const down = () => new Error('Connection is closed.');

describe('createHistoryReadFailures', () => {
  it('reports the first failure, then once when every failing reader read again', () => {
    const reported: string[] = [];
    let now = 0;
    const failures = createHistoryReadFailures((error) => reported.push(error.message), {
      clock: { now: () => now },
    });
    const a = {};
    const b = {};
    failures.failed(a, 't', down());
    failures.failed(b, 't', down());
    now = 1_500;
    failures.failed(a, 't', down());
    failures.succeeded(a, 't'); // b has not read again yet
    expect(reported).toEqual(['Connection is closed.']);
    failures.succeeded(b, 't');
    expect(reported).toEqual([
      'Connection is closed.',
      "The Redis bus's history reads work again after 1.5 s and 3 failed reads (only the first was reported).",
    ]);
    failures.succeeded(a, 't'); // no incident: nothing
    failures.failed(a, 't', new Error('again'));
    expect(reported.at(-1)).toBe('again');
  });

  it('keeps the incident of readers that ended while failing open until a read works', () => {
    const reported: string[] = [];
    const failures = createHistoryReadFailures((error) => reported.push(error.message));
    // SSE clients answered 503 one after another: each subscription fails, then ends.
    for (let client = 0; client < 4; client += 1) {
      const reader = {};
      failures.failed(reader, 'a', down());
      failures.failed(reader, 'a', down());
      failures.ended(reader);
    }
    expect(reported).toEqual(['Connection is closed.']);
    // One Redis: any subscription's read says it works again, another tenant's too.
    failures.succeeded({}, 'b');
    expect(reported).toEqual([
      'Connection is closed.',
      expect.stringMatching(
        /^The Redis bus's history reads work again after .* and 8 failed reads/,
      ),
    ]);
  });

  it('on a Cluster, waits for a read of the tenant whose readers ended while failing', () => {
    const reported: string[] = [];
    let now = 0;
    const failures = createHistoryReadFailures((error) => reported.push(error.message), {
      cluster: true,
      clock: { now: () => now },
    });
    // Tenant b's node is down; tenant a's reads work. b's clients come and go.
    for (let client = 0; client < 3; client += 1) {
      const reader = {};
      failures.failed(reader, 'b', down());
      failures.succeeded({}, 'a');
      failures.ended(reader);
      failures.succeeded({}, 'a');
      now += 5_000;
    }
    expect(reported).toEqual(['Connection is closed.']);
    failures.succeeded({}, 'b');
    expect(reported).toHaveLength(2);
    expect(reported[1]).toMatch(/work again after 15\.0 s and 3 failed reads/);
  });

  it('on a Cluster, lets a tenant nobody read again go after a while', () => {
    const reported: string[] = [];
    let now = 0;
    const failures = createHistoryReadFailures((error) => reported.push(error.message), {
      cluster: true,
      clock: { now: () => now },
    });
    const reader = {};
    failures.failed(reader, 'b', down());
    failures.ended(reader);
    now = forgottenAfterMs - 1;
    failures.succeeded({}, 'a');
    expect(reported).toHaveLength(1);
    now = forgottenAfterMs;
    failures.succeeded({}, 'a');
    expect(reported).toHaveLength(2);
  });
});
