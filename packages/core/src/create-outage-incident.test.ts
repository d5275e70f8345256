import { describe, expect, it } from 'vitest';
import { createOutageIncident } from './create-outage-incident';

describe('createOutageIncident', () => {
  it('opens on the first failure only, counts the next ones and says how long and how many at the end', () => {
    let now = 10_000;
    const incident = createOutageIncident({
      back: 'Sweeps work again',
      failures: 'failures',
      clock: { now: () => now },
    });
    expect(incident.open).toBe(false);
    expect(incident.failed()).toBe(true);
    now += 700;
    expect(incident.failed()).toBe(false);
    expect(incident.failed()).toBe(false);
    expect(incident.open).toBe(true);
    now += 800;
    expect(incident.end()).toBe(
      'Sweeps work again after 1.5 s and 3 failures (only the first was reported).',
    );
    expect(incident.open).toBe(false);
  });

  it('ends nothing when no outage is open', () => {
    const incident = createOutageIncident({ back: 'Reads work again', failures: 'failed reads' });
    expect(incident.end()).toBeUndefined();
    incident.failed();
    expect(incident.end()).toMatch(/^Reads work again after \d+\.\d s and 1 failed reads/);
    expect(incident.end()).toBeUndefined();
  });

  it('starts the next outage afresh: reported again, counted from one, timed from its own start', () => {
    let now = 0;
    const incident = createOutageIncident({
      back: 'Channels are back',
      failures: 'failed restarts',
      clock: { now: () => now },
    });
    incident.failed();
    incident.failed();
    now = 60_000;
    incident.end();
    now = 100_000;
    expect(incident.failed()).toBe(true);
    now = 100_400;
    expect(incident.end()).toBe(
      'Channels are back after 0.4 s and 1 failed restarts (only the first was reported).',
    );
  });
});
