import { describe, expect, it } from 'vitest';
import { createOutageIncident, type OutageIncidentOptions } from './create-outage-incident';
import { RedisUnavailableError } from './errors/redis-unavailable-error';
import { redisClientClosedError } from './redis-unavailable';

const down = () => new RedisUnavailableError({ message: 'Redis cannot be reached.' });

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

  describe('runs of background work', () => {
    /** An incident over runs, on a clock the test sets (`time.now = …`). */
    const runsOn = (rule: Pick<OutageIncidentOptions, 'keyed' | 'quietMs'> = {}) => {
      const time = { now: 0 };
      const clock = { now: () => time.now };
      const incident = createOutageIncident<string>({
        back: 'Runs work again',
        failures: 'failures',
        clock,
        ...rule,
      });
      return { incident, time };
    };

    it('tells a bug from an outage, and ends at the first run that works when runs are not keyed', () => {
      const { incident, time } = runsOn();
      expect(incident.runFailed(new TypeError('a bug'))).toBe('bug');
      expect(incident.open).toBe(false);
      expect(incident.runFailed(down(), 'acme')).toBe('opened');
      expect(incident.runFailed(down(), 'acme')).toBe('counted');
      time.now = 2_000;
      expect(incident.runWorked('other')).toBe(
        'Runs work again after 2.0 s and 2 failures (only the first was reported).',
      );
      expect(incident.runWorked()).toBeUndefined();
    });

    it('keyed: is over once every key whose run failed has worked again or was forgotten', () => {
      const { incident } = runsOn({ keyed: true });
      incident.runFailed(down(), 'a');
      incident.runFailed(down(), 'b');
      // A failure with no key is counted and holds nothing open.
      incident.runFailed(down());
      expect(incident.runWorked('c')).toBeUndefined();
      expect(incident.runWorked('a')).toBeUndefined();
      incident.forget('b');
      expect(incident.runWorked()).toMatch(/^Runs work again after .* and 3 failures/);
    });

    it('keyed with a quiet interval: also over once none failed for it, keys still failing', () => {
      const { incident, time } = runsOn({ keyed: true, quietMs: 1_000 });
      incident.runFailed(down(), 'acme');
      time.now = 999;
      expect(incident.runWorked('other')).toBeUndefined();
      time.now = 1_000;
      expect(incident.runWorked('other')).toMatch(/ after 1\.0 s and 1 failures/);
      // The keys went with it: the next outage starts afresh.
      incident.runFailed(down(), 'other');
      expect(incident.runWorked('other')).toMatch(/ and 1 failures/);
    });

    it('not keyed, with a quiet interval: over only once none failed for it', () => {
      const { incident, time } = runsOn({ quietMs: 500 });
      incident.runFailed(down(), 'acme');
      time.now = 400;
      expect(incident.runWorked('acme')).toBeUndefined();
      incident.runFailed(down(), 'acme');
      time.now = 899;
      expect(incident.runWorked()).toBeUndefined();
      time.now = 900;
      expect(incident.runWorked()).toMatch(/ after 0\.9 s and 2 failures/);
    });

    it('says an ended client once until a run works, opening no outage', () => {
      const { incident } = runsOn({ keyed: true });
      expect(incident.runFailed(redisClientClosedError(), 'a')).toBe('ended');
      expect(incident.runFailed(redisClientClosedError(), 'b')).toBe('counted');
      expect(incident.runFailed(redisClientClosedError())).toBe('counted');
      expect(incident.open).toBe(false);
      // Connected again: it works, and a client that ends again is said again.
      expect(incident.runWorked('a')).toBeUndefined();
      expect(incident.runFailed(redisClientClosedError(), 'a')).toBe('ended');
      // An outage meanwhile is its own incident.
      expect(incident.runFailed(down(), 'a')).toBe('opened');
    });
  });
});
