import { describe, expect, it } from 'vitest';
import type { ConnectionPresence } from './connection-presence';
import { readPresenceMembers } from './read-presence-members';
import type { UserPresence } from './user-presence';

/**
 * A `ConnectionPresence` of an app's own over `count` connected users of one tenant, that
 * refuses a `limit` above 10,000 as `createPresence()` does, and notes each `limit` asked.
 */
function presenceOf(count: number) {
  const asked: number[] = [];
  const users: UserPresence[] = Array.from({ length: count }, (_, index) => ({
    tenantId: 't',
    userId: `u${String(index).padStart(5, '0')}`,
    status: 'online',
    state: 'available',
    version: 1,
    connections: [],
  }));
  const list = async (options?: { limit?: number }) => {
    const limit = options?.limit ?? 1000;
    if (limit > 10_000) throw new Error('limit must be an integer from 1 to 10000.');
    asked.push(limit);
    return users.slice(0, limit);
  };
  const presence: ConnectionPresence = {
    connect: () => Promise.reject(new Error('not used')),
    listMembers: (_tenantId, options) => list(options),
    listMembersAcrossTenants: (options) => list(options),
  };
  return { presence, asked };
}

describe('readPresenceMembers', () => {
  it('asks one user more than the limit (1,000 by default) and says whether the list was cut', async () => {
    for (const [count, limit, sent, complete] of [
      [1001, undefined, 1000, false],
      [1000, undefined, 1000, true],
      [4, 3, 3, false],
      [3, 3, 3, true],
      [0, 3, 0, true],
    ] as const) {
      const { presence, asked } = presenceOf(count);
      for (const tenantId of ['t', undefined]) {
        const read = await readPresenceMembers(presence, tenantId, limit);
        expect({ sent: read.members.length, complete: read.complete }).toEqual({ sent, complete });
      }
      expect(asked).toEqual(Array(2).fill((limit ?? 1000) + 1));
    }
  });

  it('at 10,000, what createPresence() lists at once, asks no more and counts a full list as cut', async () => {
    const { presence, asked } = presenceOf(10_000);
    const read = await readPresenceMembers(presence, undefined, 10_000);
    expect(asked).toEqual([10_000]);
    expect(read.members).toHaveLength(10_000);
    expect(read.complete).toBe(false);
    const fewer = await readPresenceMembers(presenceOf(9_999).presence, 't', 10_000);
    expect(fewer).toMatchObject({ complete: true });
    expect(fewer.members).toHaveLength(9_999);
  });
});
