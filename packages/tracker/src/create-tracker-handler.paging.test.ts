// GET /calls/active pages after a call (decision 0076) over real HTTP, on both stores: a walk of
// 25 calls, three to a start, 10 a page, follows each answer's `next` and lists every call once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@calltrack/bus';
import type { CallSnapshot, Principal } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallStore } from './call-store';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisCallStore } from './create-redis-call-store';
import { createTrackerHandler } from './create-tracker-handler';
import { callLifecycle, t0 } from './make-call-event';

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-http-paging');
const servers: Server[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const principals: Record<string, Principal> = {
  'token-a': { tenantId: 'tenant-a' },
  admin: { tenantId: 'tenant-a', allTenants: true },
};

/** A tracker API on loopback over `store`, with 25 active calls of tenant-a, three to a start. */
async function startApi(store: CallStore) {
  const tracker = createCallTracker({
    bus: createMemoryBus(),
    store,
    clock: { now: () => t0 + 60_000 },
    logger: {},
  });
  // Ids out of the list's order, so ties are ordered by id, not by arrival.
  for (let index = 0; index < 25; index++) {
    const callId = `CA-${String((index * 7) % 25).padStart(2, '0')}`;
    await tracker.ingest(
      callLifecycle({ callId, startMs: Math.floor((index + 2) / 3) * 1000 })[0]!,
    );
  }
  const handler = createTrackerHandler({
    tracker,
    logger: {},
    authenticate: (request) =>
      principals[request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''] ?? null,
  });
  const server = createServer(toNodeHandler(handler));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (path: string, token = 'token-a') => {
    const response = await fetch(`${base}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: await response.json() };
  };
  return { tracker, get };
}

const stores: [string, () => CallStore][] = [
  ['memory', () => createMemoryCallStore()],
  ...(redis
    ? ([['Redis', () => createRedisCallStore({ redis, prefix: `${prefix}:${Math.random()}` })]] as [
        string,
        () => CallStore,
      ][])
    : []),
];

describe.each(stores)('GET /calls/active?afterCallId=&afterStartedAt= (%s store)', (_, store) => {
  it('walks 25 calls 10 a page by each answer’s next, each call once, in the list’s order', async () => {
    const { tracker, get } = await startApi(store());
    const expected = (await tracker.listActiveCalls('tenant-a', { limit: 100 })).map(
      (call) => call.callId,
    );
    expect(expected).toHaveLength(25);

    const pages: CallSnapshot[][] = [];
    let path = '/calls/active?limit=10';
    for (;;) {
      const { status, body } = await get(path);
      expect(status).toBe(200);
      pages.push(body.calls);
      if (body.next === undefined) break;
      const last: CallSnapshot = body.calls.at(-1);
      // `next` is the page's last call, as the parameters take it.
      expect(body.next).toEqual({ afterCallId: last.callId, afterStartedAt: last.startedAt });
      path = `/calls/active?limit=10&${new URLSearchParams(body.next)}`;
    }
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat().map((call) => call.callId)).toEqual(expected);
    // Both page edges fall inside a start's three calls.
    expect(pages[0]!.at(-1)!.startedAt).toBe(pages[1]![0]!.startedAt);
    expect(pages[1]!.at(-1)!.startedAt).toBe(pages[2]![0]!.startedAt);
  });

  it('answers next only for a full page, also when nothing follows it', async () => {
    const { get } = await startApi(store());
    const whole = await get('/calls/active?limit=25');
    expect(whole.body.calls).toHaveLength(25);
    expect(whole.body.next).toBeDefined();
    expect((await get(`/calls/active?${new URLSearchParams(whole.body.next)}`)).body).toEqual({
      calls: [],
    });
    expect((await get('/calls/active?limit=26')).body.next).toBeUndefined();
    // Without limit, a page is 1,000 calls: 25 is not full.
    expect(await get('/calls/active')).toMatchObject({
      status: 200,
      body: { calls: expect.any(Array) },
    });
    expect((await get('/calls/active')).body.next).toBeUndefined();
  });

  it('refuses a cursor parameter alone, twice, malformed, or across tenants, naming it', async () => {
    const { get } = await startApi(store());
    const at = encodeURIComponent(new Date(t0).toISOString());
    for (const [query, name] of [
      ['afterCallId=CA-01', 'afterStartedAt'],
      [`afterStartedAt=${at}`, 'afterCallId'],
      [`afterCallId=CA-01&afterCallId=CA-02&afterStartedAt=${at}`, 'afterCallId'],
      [`afterCallId=CA-01&afterStartedAt=${at}&afterStartedAt=${at}`, 'afterStartedAt'],
      ['afterCallId=CA-01&afterStartedAt=', 'afterStartedAt'],
      ['afterCallId=&afterStartedAt=2026-11-21T10:00:00Z', 'afterCallId'],
      ['afterCallId=CA-01&afterStartedAt=yesterday', 'afterStartedAt'],
      ['afterCallId=CA-01&afterStartedAt=2026-11-21T10:00:00', 'afterStartedAt'],
      [`afterCallId=CA-01&afterStartedAt=${t0}`, 'afterStartedAt'],
    ]) {
      const answer = await get(`/calls/active?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.message, query).toContain(name);
    }
    const across = await get(`/calls/active?afterCallId=CA-01&afterStartedAt=${at}`, 'admin');
    expect(across.status).toBe(400);
    expect(across.body.error.message).toContain('afterCallId');
    // Named tenant: the admin pages that tenant like its own principals do.
    const named = await get(
      `/calls/active?tenantId=tenant-a&limit=10&afterCallId=CA-01&afterStartedAt=${at}`,
      'admin',
    );
    expect(named.status).toBe(200);
  });
});
