import { randomUUID } from 'node:crypto';
import { type DialerClock, systemClock } from './dialer-clock';
import type { DialerLocks } from './dialer-locks';

/** Leases in this process's memory, expiring by the given clock: for one process and for tests. */
export function createMemoryDialerLocks(options: { clock?: DialerClock } = {}): DialerLocks {
  const clock = options.clock ?? systemClock;
  const held = new Map<string, { token: string; until: number }>();
  const followUps = new Map<string, number>();
  const holds = (key: string, token: string): boolean => {
    const entry = held.get(key);
    return entry !== undefined && entry.token === token && entry.until > clock.now();
  };

  return {
    async acquire(key, ttlMs) {
      const entry = held.get(key);
      if (entry !== undefined && entry.until > clock.now()) return undefined;
      const token = randomUUID();
      held.set(key, { token, until: clock.now() + ttlMs });
      return {
        key,
        token,
        async renew(renewMs) {
          if (!holds(key, token)) return false;
          held.set(key, { token, until: clock.now() + renewMs });
          return true;
        },
        async release() {
          if (!holds(key, token)) return false;
          held.delete(key);
          return true;
        },
      };
    },
    async requestFollowUp(key, ttlMs) {
      followUps.set(key, clock.now() + ttlMs);
    },
    async renewFollowUp(key, ttlMs) {
      const until = followUps.get(key);
      if (until !== undefined && until > clock.now()) followUps.set(key, clock.now() + ttlMs);
    },
    async takeFollowUp(key) {
      const until = followUps.get(key);
      followUps.delete(key);
      return until !== undefined && until > clock.now();
    },
  };
}
