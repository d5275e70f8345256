import type { IncomingMessage } from 'node:http';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { ConnectionPresence, Principal } from '@calltrack/core';
import { createPresence } from '@calltrack/presence';
import { TRPCClientError } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import { afterEach, describe, expect, it } from 'vitest';
import { collectSubscription } from './__tests__/collect-subscription';
import { createTestClient, startTestServer } from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackProcedures } from './create-call-track-procedures';
import { createCallTrackRouter } from './create-call-track-router';

type Received = { id: string; data: CallStreamMessage };

/** The app's context as the README shows it: the principal, and the request it came with. */
interface OriginsContext {
  principal?: Principal;
  req?: IncomingMessage;
}
const t = initTRPC.context<OriginsContext>().create({ isDev: true });

const principals: Record<string, Principal> = {
  'token-a': { tenantId: 'tenant-a', userId: 'user-a' },
  'token-b': { tenantId: 'tenant-a', userId: 'user-b' },
};
function context({ req }: CreateHTTPContextOptions): OriginsContext {
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  const principal = principals[token];
  return principal ? { principal, req } : { req };
}

const allowedOrigins = ['https://App.example:443/', 'http://localhost:3000'];

/** Everything the router did for a request, in order: what a refusal must not reach. */
function recordWork() {
  const work: string[] = [];
  const bus = createMemoryBus();
  const presence = createPresence({ bus, autoHeartbeat: false });
  presence.start();
  const countedBus: Pick<EventBus, 'subscribe' | 'position'> = {
    subscribe: (options) => {
      work.push('subscribe');
      return bus.subscribe(options);
    },
    position: async (tenantId) => {
      work.push('position');
      return (await bus.position?.(tenantId)) ?? '';
    },
  };
  const countedPresence: ConnectionPresence = {
    connect: (principal, options) => {
      work.push(`presence ${principal.userId}`);
      return presence.connect(principal, options);
    },
    listMembers: (tenantId) => {
      work.push('members');
      return presence.listMembers(tenantId);
    },
  };
  const authenticate = (ctx: OriginsContext) => {
    work.push('authenticate');
    return ctx.principal;
  };
  const tracker = {
    listActiveCalls: async () => [],
    listActiveCallsAcrossTenants: async () => [],
  };
  return {
    work,
    bus,
    presence,
    router: t.router({
      calltrack: createCallTrackRouter({
        t,
        bus: countedBus,
        tracker,
        presence: countedPresence,
        presenceHeartbeatMs: 0,
        authenticate,
        allowedOrigins,
        requestOf: (ctx) => ctx.req,
      }),
    }),
  };
}
type AppRouter = ReturnType<typeof recordWork>['router'];

describe('createCallTrackRouter: allowedOrigins', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup() {
    const recorded = recordWork();
    const server = await startTestServer(recorded.router, { createContext: context });
    cleanups.push(
      () => recorded.bus.close(),
      () => recorded.presence.stop(),
      () => server.close(),
    );
    const clientFor = (token: string, origin?: string) =>
      createTestClient<AppRouter>(server.url, token, origin === undefined ? {} : { origin });
    const subscribe = (token: string, origin?: string) => {
      const collector = collectSubscription<Received>();
      const subscription = clientFor(token, origin).calltrack.onCallEvent.subscribe(
        undefined,
        collector.callbacks,
      );
      cleanups.push(() => subscription.unsubscribe());
      return collector;
    };
    return { ...recorded, server, clientFor, subscribe };
  }

  it('refuses a subscription from a foreign or null Origin with FORBIDDEN before any work', async () => {
    const { work, server, subscribe } = await setup();
    for (const origin of ['https://evil.example', 'null', 'https://app.example:8443']) {
      const collector = subscribe('token-a', origin);
      await collector.until(() => collector.errors.length > 0);
      const error = collector.errors[0];
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<AppRouter>).data).toMatchObject({
        code: 'FORBIDDEN',
        httpStatus: 403,
      });
      expect((error as TRPCClientError<AppRouter>).data?.stack).toBeUndefined();
      expect((error as Error).message).toBe(`Origin ${origin} may not open this stream.`);
      expect(collector.data).toEqual([]);
    }
    // Not authenticated, not subscribed, no presence registered or read.
    expect(work).toEqual([]);
    // The requests did reach the app (its createContext ran), and were refused there.
    expect(new Set(server.subscriptionRequests.map((req) => req.headers.origin))).toEqual(
      new Set(['https://evil.example', 'null', 'https://app.example:8443']),
    );
  });

  it('refuses a subscription without Origin whose Sec-Fetch-Site is same-site or cross-site (a no-cors fetch of another origin’s page) before any work', async () => {
    const { work, server, clientFor } = await setup();
    for (const site of ['same-site', 'cross-site']) {
      const collector = collectSubscription<Received>();
      const subscription = createTestClient<AppRouter>(server.url, 'token-a', {
        'sec-fetch-site': site,
      }).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
      cleanups.push(() => subscription.unsubscribe());
      await collector.until(() => collector.errors.length > 0);
      expect((collector.errors[0] as TRPCClientError<AppRouter>).data).toMatchObject({
        code: 'FORBIDDEN',
        httpStatus: 403,
      });
      expect((collector.errors[0] as Error).message).toBe(
        `A ${site} page of another origin may not open this stream.`,
      );
      expect(collector.data).toEqual([]);
    }
    expect(work).toEqual([]);
    expect(
      server.subscriptionRequests.map((req) => [req.headers.origin, req.headers['sec-fetch-site']]),
    ).toEqual([
      [undefined, 'same-site'],
      [undefined, 'cross-site'],
    ]);
    // Queries stay unchecked, as for a foreign Origin.
    expect(await clientFor('token-a').calltrack.activeCallsSnapshot.query()).toEqual({
      calls: [],
      complete: true,
    });
  });

  it('streams to a request without Origin whose Sec-Fetch-Site is same-origin or none', async () => {
    const { work, server, subscribe } = await setup();
    const collectors = ['same-origin', 'none'].map((site) => {
      const collector = collectSubscription<Received>();
      const subscription = createTestClient<AppRouter>(server.url, 'token-a', {
        'sec-fetch-site': site,
      }).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
      cleanups.push(() => subscription.unsubscribe());
      return collector;
    });
    collectors.push(subscribe('token-b'));
    for (const collector of collectors) {
      await collector.until(() => collector.data.some((m) => m.data.type === 'presence'));
      expect(collector.errors).toEqual([]);
    }
    expect(work.filter((step) => step.startsWith('presence ')).sort()).toEqual([
      'presence user-a',
      'presence user-a',
      'presence user-b',
    ]);
  });

  it('streams to a listed origin and to a request without Origin, with presence', async () => {
    const { work, presence, subscribe } = await setup();
    const listed = subscribe('token-a', 'https://app.example');
    const local = subscribe('token-b', 'http://localhost:3000');
    const sameOrigin = subscribe('token-b');
    for (const collector of [listed, local, sameOrigin]) {
      await collector.until(() => collector.data.some((m) => m.data.type === 'presence'));
      expect(collector.errors).toEqual([]);
      expect(collector.data[0]?.data).toEqual({ type: 'ready' });
    }
    expect(work.filter((step) => step === 'authenticate')).toHaveLength(3);
    expect(work.filter((step) => step === 'subscribe')).toHaveLength(3);
    expect(work.filter((step) => step.startsWith('presence ')).sort()).toEqual([
      'presence user-a',
      'presence user-b',
      'presence user-b',
    ]);
    const members = await presence.listMembers('tenant-a');
    expect(members.map((member) => member.userId).sort()).toEqual(['user-a', 'user-b']);
  });

  it('answers queries from any origin: CORS keeps their answers from a foreign page', async () => {
    const { work, clientFor } = await setup();
    const snapshot = await clientFor(
      'token-a',
      'https://evil.example',
    ).calltrack.activeCallsSnapshot.query();
    expect(snapshot).toEqual({ calls: [], complete: true });
    expect(work).toEqual(['authenticate']);
  });

  it('refuses, and opens nothing, when requestOf finds no request in the context', async () => {
    const work: string[] = [];
    const bus = createMemoryBus();
    cleanups.push(() => bus.close());
    const router = t.router({
      calltrack: createCallTrackRouter({
        t,
        bus: {
          subscribe: (options) => {
            work.push('subscribe');
            return bus.subscribe(options);
          },
        },
        authenticate: (ctx) => {
          work.push('authenticate');
          return ctx.principal;
        },
        allowedOrigins,
        requestOf: (ctx) => ctx.req,
      }),
    });
    const caller = t.createCallerFactory(router)({ principal: principals['token-a'] });
    const refusal = await caller.calltrack.onCallEvent().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(TRPCError);
    expect(refusal).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    expect((refusal as Error).message).toMatch(/requestOf\(ctx\) returned no request/);
    expect(work).toEqual([]);
  });

  it('reads the Origin of a fetch Request (createCallTrackProcedures, fetch adapters)', async () => {
    const bus = createMemoryBus();
    cleanups.push(() => bus.close());
    const f = initTRPC.context<{ principal: Principal; req: Request }>().create();
    const router = f.router(
      createCallTrackProcedures({
        procedure: f.procedure,
        bus,
        authenticate: (ctx) => ctx.principal,
        allowedOrigins,
        requestOf: (ctx) => ctx.req,
      }),
    );
    const callerFor = (headers: Record<string, string>) =>
      f.createCallerFactory(router)({
        principal: { tenantId: 'tenant-a' },
        req: new Request('http://127.0.0.1/trpc/onCallEvent', { headers }),
      });
    await expect(callerFor({ origin: 'https://evil.example' }).onCallEvent()).rejects.toMatchObject(
      { code: 'FORBIDDEN' },
    );
    await expect(callerFor({ 'sec-fetch-site': 'same-site' }).onCallEvent()).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const passing: Array<Record<string, string>> = [{ origin: 'https://app.example' }, {}];
    for (const headers of passing) {
      const stream = await callerFor(headers).onCallEvent();
      const messages = stream[Symbol.asyncIterator]();
      // The caller yields tracked envelopes as they are: [id, message, marker].
      const [, message] = (await messages.next()).value as unknown as [string, CallStreamMessage];
      expect(message).toEqual({ type: 'ready' });
      await messages.return?.();
    }
  });

  it('checks the options when the router is made', () => {
    const bus = createMemoryBus();
    cleanups.push(() => bus.close());
    const base = { t, bus, authenticate: (ctx: OriginsContext) => ctx.principal };
    expect(() => createCallTrackRouter({ ...base, allowedOrigins })).toThrow(
      /createCallTrackRouter: allowedOrigins needs requestOf\(ctx\)/,
    );
    expect(() =>
      createCallTrackRouter({
        ...base,
        allowedOrigins: ['app.example'],
        requestOf: (ctx) => ctx.req,
      }),
    ).toThrow(/createCallTrackRouter: allowedOrigins: "app.example" is not an origin/);
    expect(() =>
      createCallTrackProcedures({
        procedure: t.procedure,
        ...base,
        allowedOrigins: 'https://app.example' as never,
        requestOf: (ctx) => ctx.req,
      }),
    ).toThrow(/createCallTrackProcedures: allowedOrigins must be an array/);
  });
});
