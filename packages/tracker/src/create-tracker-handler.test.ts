import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@calltrack/bus';
import { callIdPathSegment, type Principal } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import { createRetellCallControl, createRetellClient } from '@calltrack/retell';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallTracker } from './create-call-tracker';
import { createTrackerHandler } from './create-tracker-handler';
import { callLifecycle, t0 } from './make-call-event';

const tokens: Record<string, string> = { 'token-a': 'tenant-a', 'token-b': 'tenant-b' };
/** Principals beyond a plain tenant's, by token. */
const principals: Record<string, Principal> = {
  admin: { tenantId: 'tenant-a', userId: 'admin-1', allTenants: true, roles: ['super-admin'] },
  'not-admin': { tenantId: 'tenant-a', allTenants: false },
  'half-admin': { tenantId: 'tenant-a', allTenants: 'yes' as never },
};
let server: Server;
let base: string;
const errors: unknown[] = [];

beforeAll(async () => {
  let clock = t0;
  const tracker = createCallTracker({
    bus: createMemoryBus(),
    clock: { now: () => clock },
    logger: {},
  });
  for (const [index, options] of [
    { callId: 'CA-h1', branchId: 'north' },
    { callId: 'CA-h2', branchId: 'south', startMs: 1000 },
    { callId: 'CA-h3', tenantId: 'tenant-b' },
    { callId: 'CA h/4', branchId: 'north', startMs: 2000 },
  ].entries()) {
    clock = t0 + index * 1000;
    await tracker.ingest(callLifecycle(options)[0]!);
  }
  const events = callLifecycle({ callId: 'CA-h5' });
  await tracker.ingest(events[0]!);
  await tracker.ingest(events[3]!);
  clock = t0 + 3_600_000;
  const handler = createTrackerHandler({
    tracker,
    basePath: '/api/',
    logger: { error: (message, context) => errors.push({ message, context }) },
    authenticate: (request) => {
      const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
      if (token === 'broken') return { tenantId: 'bad tenant' };
      if (token !== undefined && token in principals) return principals[token];
      const tenantId = token === undefined ? undefined : tokens[token];
      return tenantId === undefined ? null : { tenantId, userId: 'user-1' };
    },
  });
  server = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function get(path: string, token: string | null = 'token-a', method = 'GET') {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

describe('createTrackerHandler (over node:http)', () => {
  it("lists the tenant's active calls, newest first, filtered by branch and limited", async () => {
    const all = await get('/api/calls/active');
    expect(all.status).toBe(200);
    expect(all.headers.get('cache-control')).toBe('no-store');
    expect(all.body.calls.map((call: { callId: string }) => call.callId)).toEqual([
      'CA h/4',
      'CA-h2',
      'CA-h1',
    ]);
    const north = await get('/api/calls/active?branchId=north&limit=1');
    expect(north.body.calls.map((call: { callId: string }) => call.callId)).toEqual(['CA h/4']);
    const other = await get('/api/calls/active', 'token-b');
    expect(other.body.calls.map((call: { callId: string }) => call.callId)).toEqual(['CA-h3']);
  });

  it('counts active calls', async () => {
    const count = await get('/api/calls/active/count');
    expect(count).toMatchObject({
      status: 200,
      body: { total: 3, byBranch: { north: 2, south: 1 } },
    });
  });

  it("reads one call, including a recently ended one, and 404s another tenant's", async () => {
    expect(await get('/api/calls/active/CA-h1')).toMatchObject({
      status: 200,
      body: { call: { callId: 'CA-h1', status: 'queued' } },
    });
    expect(await get(`/api/calls/active/${encodeURIComponent('CA h/4')}`)).toMatchObject({
      status: 200,
      body: { call: { callId: 'CA h/4' } },
    });
    expect(await get('/api/calls/active/CA-h5')).toMatchObject({
      status: 200,
      body: { call: { status: 'completed', active: false } },
    });
    expect(await get('/api/calls/active/CA-h3')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await get('/api/calls/active/CA-nope')).toMatchObject({ status: 404 });
  });

  it("lists the tenant's recently ended calls, with branch and limit checked", async () => {
    const recent = await get('/api/calls/recent');
    expect(recent.status).toBe(200);
    expect(recent.headers.get('cache-control')).toBe('no-store');
    expect(recent.body.calls).toEqual([
      expect.objectContaining({ callId: 'CA-h5', status: 'completed', active: false }),
    ]);
    expect((await get('/api/calls/recent?branchId=north')).body.calls).toEqual([]);
    expect((await get('/api/calls/recent', 'token-b')).body.calls).toEqual([]);
    for (const query of ['limit=1001', 'limit=0', 'tenantId=tenant-b', 'branchId=']) {
      expect((await get(`/api/calls/recent?${query}`)).status, query).toBe(400);
    }
    expect((await get('/api/calls/recent?limit=1000')).status).toBe(200);
  });

  it('serves analytics, by hour by default', async () => {
    const hourly = await get(
      `/api/calls/analytics?from=${new Date(t0).toISOString()}&to=${t0 + 3_600_000}`,
    );
    expect(hourly.status).toBe(200);
    expect(hourly.body).toMatchObject({
      tenantId: 'tenant-a',
      granularity: 'hour',
      totals: { startedCalls: 4, endedCalls: 1 },
    });
    expect(hourly.body.buckets).toHaveLength(1);
    const daily = await get(`/api/calls/analytics?granularity=day&from=${t0}`);
    expect(daily.body.buckets).toHaveLength(1);
  });

  it('answers 401 without credentials, before reading anything', async () => {
    expect(await get('/api/calls/active', null)).toMatchObject({
      status: 401,
      body: { error: { code: 'unauthorized' } },
    });
    expect(await get('/api/calls/active', 'wrong')).toMatchObject({ status: 401 });
  });

  it('never takes the tenant from the query, and rejects bad queries with 400', async () => {
    expect(await get('/api/calls/active?tenantId=tenant-b')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_argument', message: expect.stringMatching(/credentials/) } },
    });
    for (const query of ['limit=0', 'limit=abc', 'limit=1&limit=2', 'branchId=', 'colour=red']) {
      expect((await get(`/api/calls/active?${query}`)).status, query).toBe(400);
    }
    for (const query of [
      'granularity=week',
      'from=yesterday',
      `from=${t0}&to=${t0 - 1}`,
      'from=0&granularity=minute',
    ]) {
      expect((await get(`/api/calls/analytics?${query}`)).status, query).toBe(400);
    }
    expect((await get('/api/calls/active/count?x=1')).status).toBe(400);
  });

  it('reads from and to as ISO 8601 with a time zone, so a query means the same on every server', async () => {
    // Date.parse reads a time without a zone, and forms that are not ISO 8601 ("-1" is
    // 2001-01-01), in the server's own time zone: the same URL counted other hours elsewhere.
    for (const time of [
      '2026-11-21T10:00',
      '2026-11-21T10:00:00.000',
      '2026-11-21 10:00Z',
      'Nov 21 2026',
      '2026/11/21',
      '-1',
      '1 2',
    ]) {
      const answer = await get(
        `/api/calls/analytics?from=${encodeURIComponent(time)}&to=${t0 + 3_600_000}`,
      );
      expect(answer.status, time).toBe(400);
      expect(answer.body, time).toMatchObject({
        error: { code: 'invalid_argument', message: expect.stringMatching(/"from"/) },
      });
    }
    for (const [time, at] of [
      ['2026-11-21', Date.parse('2026-11-21T00:00:00Z')],
      ['2026-11-21T10:00Z', t0],
      ['2026-11-21T15:30:00.000+05:30', t0],
      ['2026-11-21T05:00-0500', t0],
    ] as const) {
      const answer = await get(
        `/api/calls/analytics?from=${encodeURIComponent(time)}&to=${t0 + 3_600_000}`,
      );
      expect(answer.status, time).toBe(200);
      expect((answer.body as { from: string }).from, time).toBe(new Date(at).toISOString());
    }
  });

  it('answers 405 for other methods and 404 for other paths', async () => {
    const post = await get('/api/calls/active', 'token-a', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await get('/api/calls/active/count', 'token-a', 'DELETE')).status).toBe(405);
    expect((await get('/calls/active')).status).toBe(404);
    expect((await get('/api/calls')).status).toBe(404);
    expect((await get('/api/calls/active/a/b')).status).toBe(404);
  });

  it('answers 500 without details when authenticate returns a principal that is not valid, and logs it', async () => {
    errors.length = 0;
    for (const token of ['broken', 'half-admin']) {
      const response = await get('/api/calls/active', token);
      expect(response).toMatchObject({ status: 500, body: { error: { code: 'internal_error' } } });
    }
    expect(errors).toHaveLength(2);
    expect(JSON.stringify(errors)).toMatch(/allTenants/);
  });

  it("never lets a tenant principal read another tenant's data, whatever the query or path says", async () => {
    for (const token of ['token-a', 'not-admin']) {
      for (const path of [
        '/api/calls/active?tenantId=tenant-b',
        '/api/calls/active?tenantId=tenant-a',
        '/api/calls/active/count?tenantId=tenant-b',
        '/api/calls/recent?tenantId=tenant-b',
        '/api/calls/active/CA-h3?tenantId=tenant-b',
        '/api/calls/analytics?tenantId=tenant-b',
        '/api/calls/active?branchId=north&tenantId=tenant-b',
      ]) {
        const response = await get(path, token);
        expect(response.status, `${token} ${path}`).toBe(400);
        expect(response.body.error.message, path).toMatch(/credentials/);
      }
      // Another tenant's call is not found, as an unknown one is.
      expect(await get('/api/calls/active/CA-h3', token)).toMatchObject({
        status: 404,
        body: { error: { code: 'not_found' } },
      });
      const own = await get('/api/calls/active', token);
      expect(
        own.body.calls.every((call: { tenantId: string }) => call.tenantId === 'tenant-a'),
      ).toBe(true);
      expect((await get('/api/calls/active/count', token)).body).toEqual({
        total: 3,
        byBranch: { north: 2, south: 1 },
      });
    }
  });

  it('gives an all-tenants principal every tenant where the tracker has such a view', async () => {
    const all = await get('/api/calls/active', 'admin');
    expect(all.status).toBe(200);
    expect(
      all.body.calls.map((call: { tenantId: string; callId: string }) => [
        call.tenantId,
        call.callId,
      ]),
    ).toEqual([
      ['tenant-a', 'CA h/4'],
      ['tenant-a', 'CA-h2'],
      // Same start as CA-h1: the call id breaks the tie.
      ['tenant-b', 'CA-h3'],
      ['tenant-a', 'CA-h1'],
    ]);
    expect((await get('/api/calls/active?limit=2', 'admin')).body.calls).toHaveLength(2);
    expect((await get('/api/calls/active/count', 'admin')).body).toEqual({
      total: 4,
      byTenant: { 'tenant-a': 3, 'tenant-b': 1 },
    });
    // Branches are per tenant: across tenants, one must be named.
    expect((await get('/api/calls/active?branchId=north', 'admin')).status).toBe(400);
  });

  it('lets an all-tenants principal name one tenant, and reads its own tenant by default elsewhere', async () => {
    const b = await get('/api/calls/active?tenantId=tenant-b', 'admin');
    expect(b.body.calls.map((call: { callId: string }) => call.callId)).toEqual(['CA-h3']);
    expect((await get('/api/calls/active/count?tenantId=tenant-b', 'admin')).body).toEqual({
      total: 1,
      byBranch: {},
    });
    expect(
      (await get('/api/calls/active?tenantId=tenant-a&branchId=north', 'admin')).body.calls,
    ).toHaveLength(2);
    // One call, recent calls and analytics have no cross-tenant view: the own tenant, or the named one.
    expect((await get('/api/calls/active/CA-h3', 'admin')).status).toBe(404);
    expect(await get('/api/calls/active/CA-h3?tenantId=tenant-b', 'admin')).toMatchObject({
      status: 200,
      body: { call: { tenantId: 'tenant-b', callId: 'CA-h3' } },
    });
    expect((await get('/api/calls/recent', 'admin')).body.calls).toEqual([
      expect.objectContaining({ callId: 'CA-h5' }),
    ]);
    expect((await get('/api/calls/recent?tenantId=tenant-b', 'admin')).body.calls).toEqual([]);
    expect((await get('/api/calls/analytics?tenantId=tenant-b', 'admin')).body).toMatchObject({
      tenantId: 'tenant-b',
    });
    for (const query of [
      'tenantId=a%20b',
      'tenantId=%7Bx%7D',
      'tenantId=',
      'tenantId=a&tenantId=b',
    ]) {
      expect((await get(`/api/calls/active?${query}`, 'admin')).status, query).toBe(400);
    }
  });

  it('reads a call whose id is "count" with the id percent-encoded: the plain path counts', async () => {
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: { now: () => t0 },
      logger: {},
    });
    await tracker.ingest(callLifecycle({ callId: 'count' })[0]!);
    const handler = createTrackerHandler({
      tracker,
      authenticate: () => ({ tenantId: 'tenant-a' }),
    });
    const read = async (path: string) =>
      (await handler(new Request(`http://localhost${path}`))).json();
    expect(await read('/calls/active/count')).toEqual({ total: 1, byBranch: {} });
    for (const path of ['/calls/active/%63ount', '/calls/active/%63%6F%75%6E%74']) {
      expect(await read(path), path).toMatchObject({ call: { callId: 'count', active: true } });
    }
  });

  it('reads and ends a call of any id, over real HTTP, with the id written by callIdPathSegment', async () => {
    const ids = [
      '.',
      '..',
      'count',
      'active',
      'terminate',
      'recent',
      '%2E%2E',
      '.%2E',
      '../x',
      'a/b',
      '?x#y&z',
      '\\..',
      ' ☎ ä ',
    ];
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: { now: () => t0 },
      logger: {},
    });
    for (const callId of ids) {
      const events = callLifecycle({ callId });
      await tracker.ingest(events[0]!);
      await tracker.ingest(events[3]!);
    }
    const handler = createTrackerHandler({
      tracker,
      basePath: '/api',
      authenticate: () => ({ tenantId: 'tenant-a' }),
      // Never asked: the calls have ended, so the route answers from the tracker.
      callControl: {
        twilio: createRetellCallControl({
          client: createRetellClient({ apiKey: 'unused', baseUrl: 'http://127.0.0.1:9' }),
        }),
      },
    });
    const own = createServer(toNodeHandler(handler));
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(own.address() as AddressInfo).port}/api`;
    try {
      for (const callId of ids) {
        const segment = callIdPathSegment(callId);
        const read = await fetch(`${url}/calls/active/${segment}`);
        expect(read.status, callId).toBe(200);
        expect(await read.json(), callId).toMatchObject({ call: { callId, status: 'completed' } });
        const ended = await fetch(`${url}/calls/${segment}/terminate`, { method: 'POST' });
        expect(ended.status, callId).toBe(200);
        expect(await ended.json(), callId).toEqual({ callId, status: 'completed' });
      }
      // The words of the routes keep their meaning.
      expect(await (await fetch(`${url}/calls/active/count`)).json()).toEqual({
        total: 0,
        byBranch: {},
      });
      // A NUL alone names no call.
      expect((await fetch(`${url}/calls/active/%00`)).status).toBe(400);
    } finally {
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it('rejects options it cannot work with', () => {
    const tracker = createCallTracker({ bus: createMemoryBus() });
    expect(() => createTrackerHandler({ tracker } as never)).toThrowError(/authenticate/);
    expect(() =>
      createTrackerHandler({ tracker, authenticate: () => null, basePath: 'api' }),
    ).toThrowError(/basePath/);
  });
});
