import { describe, expect, it } from 'vitest';
import { createFailingJobs } from './create-failing-jobs';

describe('createFailingJobs', () => {
  it('doubles each failing job’s wait up to 60 s and reports once per incident', () => {
    const reports: Error[] = [];
    const failing = createFailingJobs((error) => reports.push(error));
    expect(failing.failed('a', new Error('script error'))).toBe(1000);
    expect(failing.failed('b', new Error('script error'))).toBe(1000);
    expect(failing.failed('a', new Error('script error'))).toBe(2000);
    expect(failing.failed('a', new Error('script error'))).toBe(4000);
    for (let run = 0; run < 10; run += 1) failing.failed('b', 'down');
    expect(failing.failed('b', 'down')).toBe(60_000);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.message).toMatch(/script error/);
    expect(reports[0]!.cause).toMatchObject({ message: 'script error' });
    // One job recovering is not the end of the incident while another still fails.
    failing.succeeded('a');
    expect(failing.failed('a', new Error('again'))).toBe(1000);
    expect(reports).toHaveLength(1);
    failing.succeeded('a');
    failing.succeeded('b');
    // A new incident is reported again, and its jobs start from the first wait.
    expect(failing.failed('b', new Error('Connection is closed.'))).toBe(1000);
    expect(reports).toHaveLength(2);
    expect(reports[1]!.message).toMatch(/Connection is closed/);
  });
});

describe('createFailingJobs across processes', () => {
  it('ends an incident when no job here failed for two minutes, and forgets stale counts', () => {
    let now = 0;
    const reports: Error[] = [];
    const failing = createFailingJobs((error) => reports.push(error), { now: () => now });
    // Job a fails here twice; its next run (and success) happens in another process.
    expect(failing.failed('a', new Error('script error'))).toBe(1000);
    now += 1000;
    expect(failing.failed('a', new Error('script error'))).toBe(2000);
    expect(reports).toHaveLength(1);
    // A job that keeps failing a minute apart is one incident, reported once.
    for (let run = 0; run < 10; run += 1) {
      now += failing.failed('b', new Error('still down'));
    }
    expect(reports).toHaveLength(1);
    // Two minutes and more with no failure here: the incident is over.
    now += 120_001;
    expect(failing.failed('c', new Error('Connection is closed.'))).toBe(1000);
    expect(reports).toHaveLength(2);
    expect(reports[1]!.message).toMatch(/Connection is closed/);
    // a's and b's counts were forgotten: their next failures wait 1 s, not 4 s or 60 s.
    expect(failing.failed('a', new Error('again'))).toBe(1000);
    expect(failing.failed('b', new Error('again'))).toBe(1000);
    expect(reports).toHaveLength(2);
  });
});
