import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { InvalidArgumentError, UnknownTenantError } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { initTRPC, isTrackedEnvelope, TRPCError } from '@trpc/server';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import { createCallTrackProcedures } from './create-call-track-procedures';

interface Session {
  session?: { tenantId: string; role: 'agent' | 'admin' };
}

const t = initTRPC.context<Session>().create();
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

  it('builds on an authenticated base procedure; getTenant sees its context', async () => {
    const b = bus();
    const tracker = createCallTracker({ bus: b });
    const procedures = createCallTrackProcedures({
      procedure: authed,
      bus: b,
      tracker,
      getTenant: (ctx) => {
        expectTypeOf(ctx.tenant).toEqualTypeOf<string>();
        return ctx.tenant;
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

  it('has no activeCalls without a tracker', () => {
    const procedures = createCallTrackProcedures({
      procedure: t.procedure,
      bus: bus(),
      getTenant: (ctx) => ctx.session?.tenantId,
    });
    expect(Object.keys(procedures)).toEqual(['onCallEvent']);
    expectTypeOf(procedures).not.toHaveProperty('activeCalls');
  });

  it('aborting the caller’s signal stops the generator and ends the bus subscription', async () => {
    const observed = observeSubscriptions(bus());
    const router = t.router(
      createCallTrackProcedures({
        procedure: t.procedure,
        bus: observed.bus,
        getTenant: (ctx) => ctx.session?.tenantId,
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

  it('UNAUTHORIZED without a tenant or with an invalid one; getTenant may throw calltrack errors', async () => {
    const b = bus();
    const tenants: Record<string, () => string | undefined> = {
      none: () => undefined,
      invalid: () => 'has space',
      unknown: () => {
        throw new UnknownTenantError({ message: 'no such tenant' });
      },
    };
    const router = t.router(
      createCallTrackProcedures({
        procedure: t.procedure,
        bus: b,
        tracker: createCallTracker({ bus: b }),
        getTenant: (ctx) => tenants[ctx.session?.tenantId ?? 'none']?.(),
      }),
    );
    const caller = t.createCallerFactory(router);
    await expect(caller({}).onCallEvent()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(caller({}).activeCalls()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const invalid = caller({ session: { tenantId: 'invalid', role: 'admin' } });
    await expect(invalid.activeCalls()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const unknown = caller({ session: { tenantId: 'unknown', role: 'admin' } });
    const error = await unknown.activeCalls().catch((cause: unknown) => cause);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).message).toBe('no such tenant');
    expect((error as TRPCError).code).not.toBe('INTERNAL_SERVER_ERROR');
  });

  it('rejects bad options with InvalidArgumentError', () => {
    const b = bus();
    const getTenant = () => 'tenant-a';
    const make = (options: unknown) => () =>
      createCallTrackProcedures(options as Parameters<typeof createCallTrackProcedures>[0]);
    expect(make(undefined)).toThrow(InvalidArgumentError);
    expect(make({ bus: b, getTenant })).toThrow(/procedure/);
    expect(make({ procedure: t.procedure, getTenant })).toThrow(/bus/);
    expect(make({ procedure: t.procedure, bus: b })).toThrow(/getTenant/);
    expect(make({ procedure: t.procedure, bus: b, getTenant, tracker: {} })).toThrow(
      /listActiveCalls/,
    );
  });
});
