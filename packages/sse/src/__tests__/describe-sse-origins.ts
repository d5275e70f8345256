import { createMemoryBus } from '@calltrack/bus';
import type { ConnectionPresence, Principal } from '@calltrack/core';
import { createPresence } from '@calltrack/presence';
import { makeCallEvent, stopTestServers, testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import type { SseSnapshotSource } from '../sse-handler-options';
import { bearer, type MakeSseListener, startSse } from './describe-sse-handler';

const app = 'https://app.example';

/**
 * A real `eventsource` client whose requests carry `Origin` (as a browser's do from a page of
 * that origin) and the session's credentials. `outcome` resolves with the status it was refused
 * with, or with `open` once the stream is open; `snapshot` with its first snapshot.
 */
function openFrom(
  url: string,
  origin: string | undefined,
  token: string,
  headers: Record<string, string> = {},
) {
  const source = new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...init.headers,
          authorization: `Bearer ${token}`,
          ...headers,
          ...(origin === undefined ? {} : { origin }),
        },
      }),
  });
  const snapshot = new Promise<unknown>((resolve) => {
    source.addEventListener('snapshot', (event) => resolve(JSON.parse(event.data)));
  });
  const outcome = new Promise<'open' | number | undefined>((resolve) => {
    source.addEventListener('open', () => resolve('open'));
    source.addEventListener('error', (event) => {
      if (source.readyState === source.CLOSED) resolve(event.code);
    });
  });
  return { source, snapshot, outcome };
}

/**
 * `allowedOrigins`: with cookie sessions, a page of another site can open the user's stream
 * (CORS stops it reading, not the server opening it). Such a request must be refused before any
 * work is done for the user: authenticate, the bus subscription, presence, the snapshot.
 */
export function describeSseOrigins(name: string, makeListener: MakeSseListener): void {
  describe(`${name}: allowedOrigins`, () => {
    afterEach(stopTestServers);

    /** A server whose every step a stream takes is counted. */
    async function startCounted() {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: testEventClock() });
      const presence = createPresence({ bus, autoHeartbeat: false });
      const authenticated: string[] = [];
      const registered: Principal[] = [];
      let snapshotReads = 0;
      const countedPresence: ConnectionPresence = {
        connect(principal, options) {
          registered.push(principal);
          return presence.connect(principal, options);
        },
        listMembers: (tenantId) => presence.listMembers(tenantId),
      };
      const countedTracker: SseSnapshotSource = {
        listActiveCalls(...args) {
          snapshotReads += 1;
          return tracker.listActiveCalls(...args);
        },
        listActiveCallsAcrossTenants(...args) {
          snapshotReads += 1;
          return tracker.listActiveCallsAcrossTenants(...args);
        },
      };
      const sse = await startSse(makeListener, {
        realBus: bus,
        tracker: countedTracker,
        presence: countedPresence,
        // Given as written in a config file: normalized as browsers send origins.
        allowedOrigins: ['https://App.example:443/', 'http://localhost:5173'],
        authenticate: (request) => {
          authenticated.push(request.headers.get('origin') ?? '(none)');
          return bearer(request);
        },
      });
      await tracker.ingest(makeCallEvent({ callId: 'CA-1' }));
      return {
        sse,
        authenticated,
        registered,
        snapshotReads: () => snapshotReads,
      };
    }

    it('refuses a stream from another origin with 403 origin_not_allowed, before authenticate: no subscription, no presence, no snapshot', async () => {
      const { sse, authenticated, registered, snapshotReads } = await startCounted();
      for (const origin of ['https://evil.example', 'null', 'https://app.example.evil.example']) {
        const foreign = openFrom(sse.url, origin, 'tenant-a:u1');
        expect(await foreign.outcome, origin).toBe(403);
        foreign.source.close();
      }
      const raw = await fetch(sse.url, {
        headers: { authorization: 'Bearer tenant-a:u1', origin: 'https://evil.example' },
      });
      expect(raw.status).toBe(403);
      expect(raw.headers.get('cache-control')).toBe('no-store');
      expect(await raw.json()).toMatchObject({
        error: {
          code: 'origin_not_allowed',
          message: expect.stringContaining('https://evil.example'),
        },
      });
      const head = await fetch(sse.url, {
        method: 'HEAD',
        headers: { authorization: 'Bearer tenant-a:u1', origin: 'https://evil.example' },
      });
      expect(head.status).toBe(403);

      expect(authenticated).toEqual([]);
      expect(sse.subscriptions).toEqual([]);
      expect(registered).toEqual([]);
      expect(snapshotReads()).toBe(0);
      expect(sse.opened).toEqual([]);
      // Refusing a foreign page is no failure of the server's.
      expect(sse.errors).toEqual([]);
    });

    it('refuses a request without Origin that a browser says another origin’s page sent (Sec-Fetch-Site cross-site or same-site), before authenticate', async () => {
      const { sse, authenticated, registered, snapshotReads } = await startCounted();
      // What an image or a `no-cors` fetch of a page on another port of the same host sends.
      for (const site of ['same-site', 'cross-site']) {
        const foreign = openFrom(sse.url, undefined, 'tenant-a:u1', { 'sec-fetch-site': site });
        expect(await foreign.outcome, site).toBe(403);
        foreign.source.close();
        const raw = await fetch(sse.url, {
          headers: { authorization: 'Bearer tenant-a:u1', 'sec-fetch-site': site },
        });
        expect(raw.status).toBe(403);
        expect(await raw.json()).toMatchObject({
          error: { code: 'origin_not_allowed', message: expect.stringContaining(site) },
        });
        const head = await fetch(sse.url, {
          method: 'HEAD',
          headers: { authorization: 'Bearer tenant-a:u1', 'sec-fetch-site': site },
        });
        expect(head.status).toBe(403);
      }
      expect(authenticated).toEqual([]);
      expect(sse.subscriptions).toEqual([]);
      expect(registered).toEqual([]);
      expect(snapshotReads()).toBe(0);
      expect(sse.opened).toEqual([]);
      expect(sse.errors).toEqual([]);
    });

    it('streams to a request without Origin whose Sec-Fetch-Site is same-origin or none, or that has neither header', async () => {
      const { sse, authenticated, registered } = await startCounted();
      const own = openFrom(sse.url, undefined, 'tenant-a:u1', { 'sec-fetch-site': 'same-origin' });
      const typed = openFrom(sse.url, undefined, 'tenant-a:u2', { 'sec-fetch-site': 'none' });
      const bare = openFrom(sse.url, undefined, 'tenant-a:u3');
      for (const client of [own, typed, bare]) expect(await client.outcome).toBe('open');
      await sse.untilOpened(3);
      expect(authenticated).toEqual(['(none)', '(none)', '(none)']);
      expect(registered.map((principal) => principal.userId).sort()).toEqual(['u1', 'u2', 'u3']);
      for (const client of [own, typed, bare]) client.source.close();
    });

    it('streams to a page of a listed origin, and to a request without Origin (same-origin EventSource, not a browser)', async () => {
      const { sse, authenticated, registered, snapshotReads } = await startCounted();
      const listed = openFrom(sse.url, app, 'tenant-a:u1');
      const other = openFrom(sse.url, 'http://localhost:5173', 'tenant-a:u2');
      const without = openFrom(sse.url, undefined, 'tenant-a:u3');
      for (const client of [listed, other, without]) expect(await client.outcome).toBe('open');
      await sse.untilOpened(3);
      expect([...authenticated].sort()).toEqual([app, 'http://localhost:5173', '(none)'].sort());
      expect(registered.map((principal) => principal.userId).sort()).toEqual(['u1', 'u2', 'u3']);
      for (const client of [listed, other, without]) {
        expect(await client.snapshot).toMatchObject({ calls: [{ callId: 'CA-1' }] });
        client.source.close();
      }
      expect(snapshotReads()).toBe(3);
    });

    it('refuses an allowedOrigins entry that is not an origin when the handler is made', () => {
      const bus = createMemoryBus();
      for (const allowedOrigins of [['app.example'], ['https://'], ['data:text/plain,x']]) {
        expect(() => makeListener({ bus, authenticate: bearer, allowedOrigins })).toThrow(
          /allowedOrigins: ".*" is not an origin/,
        );
      }
      expect(() =>
        makeListener({
          bus,
          authenticate: bearer,
          allowedOrigins: 'https://app.example' as unknown as string[],
        }),
      ).toThrow(/allowedOrigins must be an array of origins/);
    });
  });
}
