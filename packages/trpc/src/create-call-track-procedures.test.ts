import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { InvalidArgumentError, type Principal, UnknownTenantError } from '@calltrack/core';
import { makeCallEvent, testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { initTRPC, isTrackedEnvelope, TRPCError } from '@trpc/server';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import { createCallTrackProcedures } from './create-call-track-procedures';

interface Session {
  session?: { tenantId: string; role: 'agent' | 'admin' };
}

const t = initTRPC.context<Session>().create({ isDev: true });
const principalOf = (ctx: Session): Principal | undefined =>
  ctx.session && { tenantId: ctx.session.tenantId };
const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'from the middleware' });
  return next({ ctx: { session: ctx.session, tenant: ctx.session.tenantId } });
});

describe('createCallTrackProcedures', () => {
  const buses: EventBus[] = [];
  const bus = () => {
    const made = createMemoryBus();
    buses.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('builds on an authenticated base procedure; authenticate sees its context', async () => {
    const b = bus();
    const tracker = createCallTracker({ bus: b, clock: testEventClock() });
    const procedures = createCallTrackProcedures({
      procedure: authed,
      bus: b,
      tracker,
      authenticate: (ctx) => {
        expectTypeOf(ctx.tenant).toEqualTypeOf<string>();
        return { tenantId: ctx.tenant };
      },
    });
    const router = t.router({ ...procedures });
    await tracker.ingest(makeCallEvent({ callId: 'A1' }));
    const caller = t.createCallerFactory(router);
    const calls = await caller({ session: { tenantId: 'tenant-a', role: 'agent' } }).activeCalls();
    expect(calls.map((call) => call.callId)).toEqual(['A1']);
    await expect(caller({}).activeCalls()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'from the middleware',
    });
  });

  it('has no activeCalls or activeCallsSnapshot without a tracker', () => {
    const procedures = createCallTrackProcedures({
      procedure: t.procedure,
      bus: bus(),
      authenticate: principalOf,
    });
    expect(Object.keys(procedures)).toEqual(['onCallEvent']);
    expectTypeOf(procedures).not.toHaveProperty('activeCalls');
    expectTypeOf(procedures).not.toHaveProperty('activeCallsSnapshot');
  });

  it('aborting the caller’s signal stops the generator and ends the bus subscription', async () => {
    const observed = observeSubscriptions(bus());
    const router = t.router(
      createCallTrackProcedures({
        procedure: t.procedure,
        bus: observed.bus,
        authenticate: principalOf,
      }),
    );
    const controller = new AbortController();
    const caller = t.createCallerFactory(router)(
      { session: { tenantId: 'tenant-a', role: 'agent' } },
      { signal: controller.signal },
    );
    const stream = await caller.onCallEvent({ types: ['call.ringing'] });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // ready
    const first = iterator.next();
    const subscription = await observed.nth(1);
    expect(subscription.options).toMatchObject({ tenantId: 'tenant-a', types: ['call.ringing'] });
    const event = makeCallEvent();
    await observed.bus.publish(event);
    // A server-side caller gets the tracked envelope itself: [id, data, marker].
    const value: unknown = (await first).value;
    expect(isTrackedEnvelope(value)).toBe(true);
    expect((value as unknown[])[1]).toEqual({ type: 'event', event });

    const waiting = iterator.next();
    controller.abort();
    expect(await waiting).toMatchObject({ done: true });
    await subscription.closed;
    expect(await subscription.subscription.next()).toEqual({ done: true, value: undefined });
  });

  it('UNAUTHORIZED without a principal (no stack trace); authenticate may throw calltrack errors', async () => {
    const b = bus();
    const principals: Record<string, () => Principal | undefined> = {
      none: () => undefined,
      invalid: () => ({ tenantId: 'has space' }),
      unknown: () => {
        throw new UnknownTenantError({ message: 'no such tenant' });
      },
    };
    const router = t.router(
      createCallTrackProcedures({
        procedure: t.procedure,
        bus: b,
        tracker: createCallTracker({ bus: b, clock: testEventClock() }),
        authenticate: (ctx) => principals[ctx.session?.tenantId ?? 'none']?.(),
      }),
    );
    const caller = t.createCallerFactory(router);
    for (const call of [caller({}).onCallEvent(), caller({}).activeCalls()]) {
      const error = await call.catch((cause: unknown) => cause);
      expect(error).toMatchObject({ code: 'UNAUTHORIZED' });
      expect((error as Error).stack).toBeUndefined();
    }
    // Not a valid principal: a bug in the app, not the caller's fault.
    const invalid = caller({ session: { tenantId: 'invalid', role: 'admin' } });
    await expect(invalid.activeCalls()).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    const unknown = caller({ session: { tenantId: 'unknown', role: 'admin' } });
    const error = await unknown.activeCalls().catch((cause: unknown) => cause);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).message).toBe('no such tenant');
    expect((error as TRPCError).code).not.toBe('INTERNAL_SERVER_ERROR');
  });

  it('gives an all-tenants principal every tenant’s active calls; a tenant gets its own', async () => {
    const b = bus();
    const tracker = createCallTracker({ bus: b, clock: testEventClock() });
    await tracker.ingest(makeCallEvent({ callId: 'A1', branchId: 'north' }));
    await tracker.ingest(makeCallEvent({ callId: 'B1', tenantId: 'tenant-b', branchId: 'north' }));
    await tracker.ingest(makeCallEvent({ callId: 'B2', tenantId: 'tenant-b', branchId: 'south' }));
    const router = t.router(
      createCallTrackProcedures({
        procedure: t.procedure,
        bus: b,
        tracker,
        authenticate: (ctx) =>
          ctx.session && {
            tenantId: ctx.session.tenantId,
            ...(ctx.session.role === 'admin' ? { allTenants: true } : {}),
          },
      }),
    );
    const caller = t.createCallerFactory(router);
    const admin = caller({ session: { tenantId: 'tenant-a', role: 'admin' } });
    const agent = caller({ session: { tenantId: 'tenant-a', role: 'agent' } });
    const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId).sort();
    expect(ids(await admin.activeCalls())).toEqual(['A1', 'B1', 'B2']);
    expect(ids(await admin.activeCalls({ branchId: 'north' }))).toEqual(['A1', 'B1']);
    const forged = { allTenants: true, tenantId: 'tenant-b' } as unknown as undefined;
    expect(ids(await agent.activeCalls(forged))).toEqual(['A1']);
  });

  it('rejects bad options with InvalidArgumentError', () => {
    const b = bus();
    const authenticate = () => ({ tenantId: 'tenant-a' });
    const make = (options: unknown) => () =>
      createCallTrackProcedures(options as Parameters<typeof createCallTrackProcedures>[0]);
    expect(make(undefined)).toThrow(InvalidArgumentError);
    expect(make({ bus: b, authenticate })).toThrow(/procedure/);
    expect(make({ procedure: t.procedure, authenticate })).toThrow(/bus/);
    expect(make({ procedure: t.procedure, bus: b })).toThrow(/authenticate/);
    expect(make({ procedure: t.procedure, bus: b, authenticate, onError: 1 })).toThrow(/onError/);
    expect(
      make({
        procedure: t.procedure,
        bus: b,
        authenticate,
        tracker: { listActiveCalls: async () => [] },
      }),
    ).toThrow(/listActiveCallsAcrossTenants/);
    expect(make({ procedure: t.procedure, bus: b, authenticate, tracker: {} })).toThrow(
      /listActiveCalls/,
    );
  });

  it('refuses a timer delay a timer cannot wait, naming the option and its range', () => {
    const b = bus();
    const authenticate = () => ({ tenantId: 'tenant-a' });
    for (const presenceHeartbeatMs of [-1, 1.5, 2 ** 31]) {
      expect(() =>
        createCallTrackProcedures({
          procedure: t.procedure,
          bus: b,
          authenticate,
          presenceHeartbeatMs,
        }),
      ).toThrow(
        expect.objectContaining({
          code: 'invalid_argument',
          message:
            'createCallTrackProcedures: presenceHeartbeatMs must be an integer from 0 to 2147483647.',
        }),
      );
    }
    for (const attachTimeoutMs of [0, 1.5, 2 ** 31]) {
      expect(() =>
        createCallTrackProcedures({
          procedure: t.procedure,
          bus: b,
          authenticate,
          attachTimeoutMs,
        }),
      ).toThrow(
        'createCallTrackProcedures: attachTimeoutMs must be an integer from 1 to 2147483647.',
      );
    }
  });
});
