import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BusSubscription, EventBus } from '@calltrack/bus';
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { CallTrackError } from '@calltrack/core';
import { attachCallTrack } from '@calltrack/socket.io';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type DialerApp, demoTenant, startDialerApp } from './__tests__/start-dialer-app';
import { signTestJwt, verifyTestJwt } from './__tests__/test-jwt';
import { attachDialer, type DialerSocketHandle } from './attach-dialer';
import { createDialer } from './create-dialer';
import { createMemoryDialerLocks } from './create-memory-dialer-locks';
import { createMemoryLeadStore } from './create-memory-lead-store';
import type { LeadInput } from './lead';

const redis = await connectTestRedis();
afterAll(() => redis?.disconnect());

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Received {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever was emitted.
  payload: any;
}

async function startSocketApp(
  leads: LeadInput[],
  options: { withCallTrack?: boolean; redisBus?: boolean; allowedOrigins?: string[] } = {},
) {
  let bus: ReturnType<typeof createRedisBus> | undefined;
  if (options.redisBus) {
    const prefix = uniquePrefix('dialer-socket');
    const connection = redis!.duplicate();
    bus = createRedisBus({ redis: connection, prefix });
    slowToAttach(bus, 200);
    closers.push(async () => {
      await deleteKeys(redis!, prefix);
      connection.disconnect();
    });
  }
  const app: DialerApp = await startDialerApp({
    leads,
    providerApi: { outcome: 'completed' },
    ...(bus === undefined ? {} : { bus }),
  });
  closers.push(() => app.close());
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const authentications = { callTrack: 0, dialer: 0 };
  if (options.withCallTrack) {
    const callTrack = attachCallTrack(io, {
      bus: app.bus,
      authenticate: (handshake) => {
        authentications.callTrack += 1;
        return verifyTestJwt(handshake.auth.token);
      },
      onError: () => {},
    });
    closers.push(() => callTrack.close());
  }
  const handle: DialerSocketHandle = attachDialer(io, {
    dialer: app.dialer,
    authenticate: (handshake) => {
      authentications.dialer += 1;
      return verifyTestJwt(handshake.auth.token);
    },
    ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
    onError: () => {},
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const sockets: Socket[] = [];
  closers.push(async () => {
    for (const socket of sockets) socket.disconnect();
    await handle.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });

  /** A connected client with a JWT for `claims`, recording everything it receives. */
  const client = async (
    claims: { tenantId: string; userId?: string },
    origin?: string,
    headers: Record<string, string> = {},
  ) => {
    const socket = connect(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token: await signTestJwt(claims) },
      extraHeaders: { ...headers, ...(origin === undefined ? {} : { origin }) },
    });
    sockets.push(socket);
    const received: Received[] = [];
    socket.onAny((name: string, payload: unknown) => received.push({ name, payload }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, received };
  };
  return { app, url, client, sockets, authentications };
}

/**
 * A Redis slow to take a SUBSCRIBE (under load, or far away): each subscription attaches only
 * after `delayMs`; until then, what is published is not delivered to it.
 */
function slowToAttach(bus: EventBus, delayMs: number): void {
  const subscribe = bus.subscribe.bind(bus);
  bus.subscribe = (options) => {
    const attached = new Promise<BusSubscription>((resolve) =>
      setTimeout(() => resolve(subscribe(options)), delayMs),
    );
    const subscription: BusSubscription = {
      ready: attached.then((inner) => inner.ready),
      next: () => attached.then((inner) => inner.next()),
      return: () =>
        attached.then((inner) => inner.return?.() ?? { done: true as const, value: undefined }),
      close: () => attached.then((inner) => inner.close()),
      [Symbol.asyncIterator]: () => subscription,
    };
    return subscription;
  };
}

/** Waits (on the event loop, not a timer budget of the code under test) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const lead = (leadId: string, userId: string, extra: Partial<LeadInput> = {}): LeadInput => ({
  tenantId: demoTenant,
  leadId,
  userId,
  phoneNumber: `+1415555${String(Math.abs(hash(leadId)) % 10_000).padStart(4, '0')}`,
  timeZone: 'America/New_York',
  ...extra,
});
const hash = (text: string): number =>
  [...text].reduce((value, char) => (value * 31 + char.charCodeAt(0)) | 0, 7);

describe('attachDialer: leads:fetched over Socket.IO, lifecycle events in the user’s room', () => {
  it('a JWT-authenticated socket triggers a run and receives its own leads’ lifecycle, in order; others receive none', async () => {
    const leads = [
      lead('twilio-a1', 'user-1'),
      lead('retell-a2', 'user-1'),
      lead('callerdesk-a3', 'user-1', {
        phoneNumber: '+919845000003',
        timeZone: 'Asia/Kolkata',
      }),
      lead('twilio-a4', 'user-1', { phoneNumber: 'call me maybe' }),
      lead('twilio-a5', 'user-1', { timeZone: undefined }),
      lead('twilio-b1', 'user-2'),
    ];
    const { app, client } = await startSocketApp(leads);
    const mine = await client({ tenantId: demoTenant, userId: 'user-1' });
    const mineAgain = await client({ tenantId: demoTenant, userId: 'user-1' });
    const colleague = await client({ tenantId: demoTenant, userId: 'user-2' });
    // Same user id in another tenant: another person.
    const stranger = await client({ tenantId: 'other', userId: 'user-1' });

    const ack = await mine.socket.emitWithAck('leads:fetched', { leads: 'ignored' });
    expect(ack).toEqual({ ok: true, outcome: 'started', runId: expect.any(String) });
    const completedOf = (received: Received[]) =>
      received.filter((entry) => entry.name === 'call:completed');
    await until(
      () =>
        completedOf(mine.received).length === 3 &&
        mine.received.some((entry) => entry.name === 'dialer:run_finished'),
      'three calls completed and the run finished',
    );

    const names = mine.received.map((entry) => entry.name);
    expect(names[0]).toBe('dialer:run_started');
    expect(mine.received[0]!.payload).toEqual({ runId: ack.runId, cause: 'trigger' });
    // The malformed lead and the one without a zone: skipped with their reasons, never called.
    const skipped = mine.received.filter((entry) => entry.name === 'dialer:lead_skipped');
    expect(skipped.map((entry) => [entry.payload.leadId, entry.payload.reason])).toEqual([
      ['twilio-a4', 'invalid_phone'],
      ['twilio-a5', 'missing_time_zone'],
    ]);
    expect(app.providerApi.countCalls({ to: 'call me maybe' })).toBe(0);
    expect(app.providerApi.countCalls({ to: leads[4]!.phoneNumber })).toBe(0);
    expect(app.providerApi.countCalls()).toBe(3);

    // Per lead: started, then statuses, then completed, once each.
    for (const leadId of ['twilio-a1', 'retell-a2', 'callerdesk-a3']) {
      const lifecycle = mine.received.filter((entry) => entry.payload?.leadId === leadId);
      const kinds = lifecycle.map((entry) => entry.name);
      expect(kinds[0], leadId).toBe('call:started');
      expect(kinds.at(-1), leadId).toBe('call:completed');
      expect(
        kinds.filter((kind) => kind === 'call:started'),
        leadId,
      ).toHaveLength(1);
      expect(
        kinds.filter((kind) => kind === 'call:completed'),
        leadId,
      ).toHaveLength(1);
      expect(
        kinds.slice(1, -1).every((kind) => kind === 'call:status_updated'),
        leadId,
      ).toBe(true);
      expect(lifecycle.at(-1)!.payload).toMatchObject({
        leadId,
        status: 'completed',
        type: 'call.ended',
        callId: expect.any(String),
      });
      const stored = await app.store.getLead(demoTenant, leadId);
      expect(stored).toMatchObject({ callStatus: 'completed', callOutcome: 'completed' });
    }
    // Calls go one at a time (one line per user), in lead id order: each completes first.
    const order = mine.received
      .filter((entry) => entry.name === 'call:started' || entry.name === 'call:completed')
      .map((entry) => `${entry.name}:${entry.payload.leadId}`);
    expect(order).toEqual(
      ['callerdesk-a3', 'retell-a2', 'twilio-a1'].flatMap((leadId) => [
        `call:started:${leadId}`,
        `call:completed:${leadId}`,
      ]),
    );
    // Another socket of the same user got the same stream.
    expect(mineAgain.received.map((entry) => entry.name)).toEqual(names);
    // Nobody else got anything.
    expect(colleague.received).toEqual([]);
    expect(stranger.received).toEqual([]);
    // The colleague's lead was not called.
    expect(app.providerApi.countCalls({ to: leads[5]!.phoneNumber })).toBe(0);

    // The colleague's run: theirs only.
    const before = mine.received.length;
    const theirs = await colleague.socket.emitWithAck('leads:fetched');
    expect(theirs).toMatchObject({ ok: true, outcome: 'started' });
    await until(() => completedOf(colleague.received).length === 1, 'the colleague’s call');
    expect(colleague.received.map((entry) => entry.payload?.leadId).filter(Boolean)).toEqual(
      expect.arrayContaining(['twilio-b1']),
    );
    expect(mine.received.length).toBe(before);
    expect(stranger.received).toEqual([]);
  });

  it('refuses bad credentials and bad input with a clear error, and calls nobody', async () => {
    const { app, url, client, sockets } = await startSocketApp([lead('twilio-c1', 'user-1')]);
    // No token, a forged one: the connection is refused.
    for (const auth of [
      {},
      { token: 'not-a-jwt' },
      { token: `${await signTestJwt({ tenantId: demoTenant, userId: 'user-1' })}x` },
    ]) {
      const socket = connect(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth,
      });
      sockets.push(socket);
      const error = await new Promise<Error & { data?: unknown }>((resolve) =>
        socket.once('connect_error', resolve),
      );
      expect(error.message).toBe('Unauthorized');
      expect(error.data).toEqual({ code: 'unauthorized' });
    }
    // A token without a user: connected, but the dialer is per user.
    const noUser = await client({ tenantId: demoTenant });
    expect(await noUser.socket.emitWithAck('leads:fetched')).toEqual({
      ok: false,
      error: { code: 'forbidden', message: expect.stringMatching(/per user/) },
    });
    // A payload that is not an object.
    const user = await client({ tenantId: demoTenant, userId: 'user-1' });
    expect(await user.socket.emitWithAck('leads:fetched', 'go')).toEqual({
      ok: false,
      error: { code: 'invalid_payload', message: expect.stringMatching(/object or nothing/) },
    });
    expect(app.providerApi.countCalls()).toBe(0);
    expect(user.received).toEqual([]);
  });

  it('with allowedOrigins, refuses a page of another origin before authenticate runs, and dials nobody', async () => {
    const { app, client, authentications } = await startSocketApp([lead('twilio-o1', 'user-1')], {
      allowedOrigins: ['https://app.example'],
    });
    // The user's credentials, sent by a page of another site (a cookie is sent by any page).
    const refused = await client(
      { tenantId: demoTenant, userId: 'user-1' },
      'https://evil.example',
    ).then(
      () => undefined,
      (error: Error & { data?: unknown }) => error,
    );
    expect(refused?.message).toBe('Origin https://evil.example is not allowed');
    expect(refused?.data).toEqual({ code: 'origin_not_allowed' });
    // No Origin, but the browser says another origin's page sent it.
    const sameSite = await client({ tenantId: demoTenant, userId: 'user-1' }, undefined, {
      'sec-fetch-site': 'same-site',
    }).then(
      () => undefined,
      (error: Error & { data?: unknown }) => error,
    );
    expect(sameSite?.message).toBe('A same-site page of another origin is not allowed');
    expect(sameSite?.data).toEqual({ code: 'origin_not_allowed' });
    expect(authentications.dialer).toBe(0);

    const ownPage = await client({ tenantId: demoTenant, userId: 'user-1' }, 'https://app.example');
    expect(authentications.dialer).toBe(1);
    // A client that is not a browser sends no Origin (and holds no victim's cookie): let in.
    await client({ tenantId: demoTenant, userId: 'user-2' });
    await client({ tenantId: demoTenant, userId: 'user-2' }, undefined, {
      'sec-fetch-site': 'same-origin',
    });
    const ack = await ownPage.socket.emitWithAck('leads:fetched');
    expect(ack).toMatchObject({ ok: true, outcome: 'started' });
    await until(() => app.providerApi.countCalls() === 1, 'the own page’s run to dial its lead');
  });

  it('refuses an allowedOrigins entry that is not an origin when attached', () => {
    // On no HTTP server: nothing listens, nothing to close.
    const io = new Server();
    expect(() =>
      attachDialer(io, {
        // Checked when attached, before the dialer is used.
        dialer: {} as never,
        authenticate: () => null,
        allowedOrigins: ['app.example'],
      }),
    ).toThrow(
      'attachDialer: allowedOrigins: "app.example" is not an origin (https://app.example).',
    );
  });

  it('beside attachCallTrack on the same server: one authentication per connection, one user room', async () => {
    const { app, client, authentications } = await startSocketApp([lead('twilio-d1', 'user-1')], {
      withCallTrack: true,
    });
    const mine = await client({ tenantId: demoTenant, userId: 'user-1' });
    expect(authentications).toEqual({ callTrack: 1, dialer: 0 });
    const ack = await mine.socket.emitWithAck('leads:fetched');
    expect(ack).toMatchObject({ ok: true, outcome: 'started' });
    await until(
      () => mine.received.some((entry) => entry.name === 'call:completed'),
      'the call completed',
    );
    const lifecycle = mine.received
      .filter((entry) => entry.name.startsWith('call:'))
      .map((entry) => entry.name);
    expect(lifecycle[0]).toBe('call:started');
    expect(lifecycle.filter((name) => name === 'call:started')).toHaveLength(1);
    expect(lifecycle.filter((name) => name === 'call:completed')).toHaveLength(1);
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it.skipIf(!redis)(
    'on a Redis bus slow to attach a subscription, leads:fetched sent right after connecting still gets the run’s first event',
    async () => {
      const users = Array.from({ length: 8 }, (_, index) => `user-r${index}`);
      const { url, sockets: opened } = await startSocketApp(
        users.map((userId) => lead(`twilio-${userId}`, userId, { timeZone: undefined })),
        { redisBus: true },
      );
      // Each socket sends leads:fetched as it connects (the client buffers it until then); its
      // lead is skipped (no zone), so the run is short.
      const sockets = await Promise.all(
        users.map(async (userId) => {
          const socket = connect(url, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
            auth: { token: await signTestJwt({ tenantId: demoTenant, userId }) },
          });
          opened.push(socket);
          const received: Received[] = [];
          socket.onAny((name: string, payload: unknown) => received.push({ name, payload }));
          return { socket, received, ack: socket.emitWithAck('leads:fetched') };
        }),
      );
      const acks = await Promise.all(sockets.map(({ ack }) => ack));
      for (const [index, { received }] of sockets.entries()) {
        await until(
          () => received.some((entry) => entry.name === 'dialer:run_finished'),
          `the run of ${users[index]}`,
        );
        expect(received.map((entry) => entry.name)).toEqual([
          'dialer:run_started',
          'dialer:lead_skipped',
          'dialer:run_finished',
        ]);
        expect(received[0]!.payload).toEqual({ runId: acks[index].runId, cause: 'trigger' });
      }
    },
  );
});

describe('attachDialer: a follow that keeps failing', () => {
  it('reports a leads:fetched that failed on a backend that is down (a 5xx) to onError, as the HTTP route and attachCallTrack do', async () => {
    const memory = createMemoryDialerLocks();
    const outage = new CallTrackError({
      message: 'Redis is unavailable (taking a lease).',
      code: 'redis_unavailable',
      status: 503,
    });
    const bus = createMemoryBus();
    const dialer = createDialer({
      store: createMemoryLeadStore(),
      bus,
      accounts: [
        {
          id: 'test',
          control: {
            provider: 'test',
            placeCall: async () => ({ provider: 'test', callId: 'never', reference: '' }),
            terminateCall: async () => {},
          },
        },
      ],
      // Redis refuses the run lease: the run cannot start.
      locks: {
        ...memory,
        acquire: async () => {
          throw outage;
        },
      },
      logger: {},
    });
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'] });
    const errors: unknown[] = [];
    const handle = attachDialer(io, {
      dialer,
      authenticate: (handshake) => verifyTestJwt(handshake.auth.token),
      onError: (error) => errors.push(error),
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const socket = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token: await signTestJwt({ tenantId: demoTenant, userId: 'alice' }) },
    });
    closers.push(async () => {
      socket.disconnect();
      await handle.close();
      await dialer.stop();
      await bus.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    });
    const ack = await socket.timeout(5_000).emitWithAck('leads:fetched', {});
    expect(ack).toEqual({
      ok: false,
      error: { code: 'redis_unavailable', message: 'Redis is unavailable (taking a lease).' },
    });
    expect(errors).toEqual([outage]);
  });

  it('restarts it after restartDelayMs without piling abort listeners on the connection’s signal', async () => {
    // The bus is down: every follow of the user fails at once and is restarted every 5 ms.
    const signals: AbortSignal[] = [];
    const dialer = createDialer({
      store: createMemoryLeadStore(),
      bus: {
        publish: async () => ({ duplicate: false }),
        subscribe: (options) => {
          if (options.signal) signals.push(options.signal);
          throw new Error('the bus is down');
        },
      },
      accounts: [
        {
          id: 'test',
          control: {
            provider: 'test',
            placeCall: async () => ({ provider: 'test', callId: 'never', reference: '' }),
            terminateCall: async () => {},
          },
        },
      ],
      logger: {},
    });
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'] });
    const errors: unknown[] = [];
    const handle = attachDialer(io, {
      dialer,
      authenticate: (handshake) => verifyTestJwt(handshake.auth.token),
      onError: (error) => errors.push(error),
      restartDelayMs: 5,
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const socket = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token: await signTestJwt({ tenantId: demoTenant, userId: 'alice' }) },
    });
    closers.push(async () => {
      socket.disconnect();
      await handle.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    });
    await until(() => errors.length >= 40, 'forty failed follows');
    const [follow] = new Set(signals);
    expect(follow).toBeDefined();
    expect(getEventListeners(follow!, 'abort').length).toBeLessThanOrEqual(1);
  });
});
