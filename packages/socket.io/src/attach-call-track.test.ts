import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { InvalidArgumentError, RedisUnavailableError } from '@calltrack/core';
import { Server } from 'socket.io';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { countingBus } from './__tests__/counting-bus';
import { createTestTracker, type TestTracker } from './__tests__/create-test-tracker';
import { createEventLog, type EventLog } from './__tests__/event-log';
import { gatedBus } from './__tests__/gated-bus';
import { makeEvent } from './__tests__/make-event';
import { slowReplayBus } from './__tests__/slow-replay-bus';
import {
  connected,
  disconnectAndWait,
  refused,
  startSocketServer,
  type TestSocketServer,
  verifyTestToken,
} from './__tests__/start-socket-server';
import { attachCallTrack } from './attach-call-track';
import type { CallTrackAck, CallTrackDelivery } from './call-track-protocol';
import { callRoom, callsRoom, tenantRoom, userRoom } from './call-track-rooms';
import type { CallTrackSocketErrorInfo } from './call-track-socket-error-info';

const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

/** A memory bus (wrapped to count subscriptions), optionally a tracker, and a server. */
async function setup(
  options: Parameters<typeof startSocketServer>[1] & {
    history?: number;
    withTracker?: boolean;
  } = {},
  socketServerOptions: Parameters<typeof startSocketServer>[2] = {},
) {
  const { history, withTracker, ...serverOptions } = options;
  const bus = countingBus(
    createMemoryBus(history === undefined ? {} : { history: { maxEvents: history } }),
  );
  buses.push(bus);
  const tracker = withTracker ? createTestTracker(bus) : undefined;
  const server = await startSocketServer(
    bus,
    { ...(tracker === undefined ? {} : { tracker: tracker.reader }), ...serverOptions },
    socketServerOptions,
  );
  servers.push(server);
  return { server, bus, tracker: tracker as TestTracker };
}

/** The call ids and `complete` of the `active_calls` a new connection with `token` gets. */
async function activeCallsOf(server: TestSocketServer, token: string) {
  const socket = server.client({ token });
  const log = createEventLog(socket);
  await connected(socket);
  expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
  const payload = log.named('active_calls')[0]?.payload as {
    calls: { callId: string }[];
    complete: unknown;
  };
  return { calls: payload.calls.map((call) => call.callId), complete: payload.complete };
}

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);
const cursors = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).cursor);

/** Resolves once the client received the event `id` as a `call_update`. */
async function received(log: EventLog, id: string): Promise<void> {
  while (!ids(log.named('call_update')).includes(id)) {
    await log.waitFor('call_update', log.named('call_update').length + 1);
  }
}

describe('attachCallTrack: authentication', () => {
  it('refuses a handshake without or with a bad token, with data.code unauthorized', async () => {
    const { server } = await setup();
    const none = await refused(server.client({}));
    expect(none.message).toBe('Unauthorized');
    expect(none.data).toEqual({ code: 'unauthorized' });
    const bad = await refused(server.client({ token: 'forged' }));
    expect(bad.data).toEqual({ code: 'unauthorized' });
    const revoked = await refused(server.client({ token: 'token:revoked:u' }));
    expect(revoked).toMatchObject({ message: 'Token revoked', data: { code: 'unauthorized' } });
  });

  it('refuses with internal_error when authenticate throws, without leaking the reason', async () => {
    const reports: [unknown, CallTrackSocketErrorInfo][] = [];
    const { server } = await setup({ onError: (error, info) => reports.push([error, info]) });
    const error = await refused(server.client({ token: 'token:throws:u' }));
    expect(error).toMatchObject({
      message: 'Authentication failed',
      data: { code: 'internal_error' },
    });
    expect(reports).toHaveLength(1);
    const [[reported, info]] = reports as [[unknown, CallTrackSocketErrorInfo]];
    expect(String(reported)).toContain('verifier is down');
    // Refused before it had a principal: the socket id alone says which handshake it was.
    expect(info).toEqual({ socketId: expect.any(String) });
  });

  it('refuses a principal with an invalid tenant id', async () => {
    const { server } = await setup({ authenticate: () => ({ tenantId: 'has space' }) });
    const error = await refused(server.client({}));
    expect(error.data).toEqual({ code: 'internal_error' });
  });

  it('refuses a malformed auth.lastCursor with invalid_payload', async () => {
    const { server } = await setup();
    const error = await refused(server.client({ token: 'token:a:u1', lastCursor: 42 }));
    expect(error.data).toEqual({ code: 'invalid_payload' });
    expect(error.message).toContain('lastCursor');
  });

  it('accepts a valid token and joins the tenant and user rooms', async () => {
    const { server } = await setup();
    const socket = server.client({ token: 'token:a:u1', tenantId: 'b' });
    await connected(socket);
    const inTenant = await server.io.in(tenantRoom('a')).fetchSockets();
    expect(inTenant.map((s) => s.id)).toEqual([socket.id]);
    const inUser = await server.io.in(userRoom('a', 'u1')).fetchSockets();
    expect(inUser.map((s) => s.id)).toEqual([socket.id]);
    expect(await server.io.in(tenantRoom('b')).fetchSockets()).toEqual([]);
    expect(inTenant[0]?.data.calltrack).toEqual({ tenantId: 'a', userId: 'u1' });
  });

  it('serves another namespace when asked', async () => {
    const { server, bus } = await setup({ namespace: '/calls' });
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const event = makeEvent('a');
    await bus.publish(event);
    expect(ids(await log.waitFor('call_update'))).toEqual([event.id]);
    expect(await refused(server.client({}))).toMatchObject({ data: { code: 'unauthorized' } });
  });
});

describe('attachCallTrack: allowedOrigins (session cookies)', () => {
  /** The app's session check: a cookie `session=<token>` the browser sends on its own. */
  const sessionOf = (cookie: string | undefined) =>
    verifyTestToken(/(?:^|;\s*)session=([^;]+)/.exec(cookie ?? '')?.[1]);
  const cookie = 'theme=dark; session=token:a:u1';

  it('refuses a WebSocket handshake from another origin, before authenticate, cookie or not', async () => {
    let authenticated = 0;
    const { server, bus } = await setup({
      allowedOrigins: ['https://app.example'],
      authenticate: (handshake) => {
        authenticated += 1;
        return sessionOf(handshake.headers.cookie);
      },
    });
    // A page on another site opening a WebSocket to the app: the browser adds the cookie.
    const foreign = await refused(
      server.client({}, { extraHeaders: { origin: 'https://evil.example', cookie } }),
    );
    expect(foreign.message).toBe('Origin https://evil.example is not allowed');
    expect(foreign.data).toEqual({ code: 'origin_not_allowed' });
    // Sandboxed frames and file: pages send `null`.
    const opaque = await refused(server.client({}, { extraHeaders: { origin: 'null', cookie } }));
    expect(opaque.data).toEqual({ code: 'origin_not_allowed' });
    expect(authenticated).toBe(0);

    // The app's own pages get in, and so does a client that sends no Origin (not a browser).
    const own = server.client({}, { extraHeaders: { origin: 'https://app.example', cookie } });
    const log = createEventLog(own);
    await connected(own);
    await connected(server.client({}, { extraHeaders: { cookie } }));
    expect(authenticated).toBe(2);
    expect(await ack(own, 'subscribe_to_calls')).toEqual({ ok: true });
    const event = makeEvent('a');
    await bus.publish(event);
    expect(ids(await log.waitFor('call_update'))).toEqual([event.id]);
  });

  it('refuses a handshake without Origin whose Sec-Fetch-Site says another origin’s page sent it, over polling and WebSocket, before authenticate', async () => {
    const authenticated: (string | undefined)[] = [];
    const { server } = await setup(
      {
        allowedOrigins: ['https://app.example'],
        authenticate: (handshake) => {
          authenticated.push(handshake.headers['sec-fetch-site'] as string | undefined);
          return sessionOf(handshake.headers.cookie);
        },
      },
      { transports: ['polling', 'websocket'] },
    );
    for (const transports of [['polling'], ['websocket']]) {
      for (const site of ['same-site', 'cross-site']) {
        const foreign = await refused(
          server.client({}, { transports, extraHeaders: { 'sec-fetch-site': site, cookie } }),
        );
        expect(foreign.data, `${transports} ${site}`).toEqual({ code: 'origin_not_allowed' });
        expect(foreign.message).toBe(`A ${site} page of another origin is not allowed`);
      }
    }
    expect(authenticated).toEqual([]);

    // The app's own page (same-origin polling sends no Origin), a typed URL, and no browser.
    const passing: Record<string, string>[] = [
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      {},
    ];
    for (const headers of passing) {
      await connected(
        server.client({}, { transports: ['polling'], extraHeaders: { ...headers, cookie } }),
      );
    }
    expect(authenticated).toEqual(['same-origin', 'none', undefined]);
  });

  it('with allowEIO3, refuses the bare polling GET an image of another origin’s page sends (it joins / at once), before authenticate', async () => {
    const authenticated: string[] = [];
    const { server } = await setup(
      {
        allowedOrigins: ['https://app.example'],
        authenticate: (handshake) => {
          authenticated.push(handshake.headers.cookie ?? '');
          return sessionOf(handshake.headers.cookie);
        },
      },
      { transports: ['polling'], allowEIO3: true },
    );
    /** Opens an Engine.IO 3 session with `headers`; resolves with its packets until `/`'s answer. */
    const poll = async (headers: Record<string, string>): Promise<string> => {
      const url = `${server.url}/socket.io/?EIO=3&transport=polling`;
      let text = await (await fetch(url, { headers })).text();
      const sid = /"sid":"([^"]+)"/.exec(text)?.[1];
      // The answer to the connection to `/` (`40`, or the error `44`) comes with a later poll.
      while (!/:4[04]/.test(text)) text += await (await fetch(`${url}&sid=${sid}`)).text();
      return text;
    };
    const foreign = await poll({ 'sec-fetch-site': 'same-site', cookie });
    expect(foreign).toContain('origin_not_allowed');
    expect(authenticated).toEqual([]);
    expect(await poll({ 'sec-fetch-site': 'same-origin', cookie })).toMatch(/:40/);
    expect(authenticated).toEqual([cookie]);
  });

  it('takes origins as URLs and refuses what is not one', () => {
    const io = new Server();
    const bus = createMemoryBus();
    buses.push(bus);
    const authenticate = () => null;
    expect(() =>
      attachCallTrack(io, { bus, authenticate, allowedOrigins: ['https://App.example:443/'] }),
    ).not.toThrow();
    for (const origin of ['app.example', '*', 'data:text/plain,x', '']) {
      expect(() => attachCallTrack(io, { bus, authenticate, allowedOrigins: [origin] })).toThrow(
        `attachCallTrack: allowedOrigins: "${origin}" is not an origin (https://app.example)`,
      );
    }
    expect(() =>
      attachCallTrack(io, { bus, authenticate, allowedOrigins: 'https://app.example' as never }),
    ).toThrow('allowedOrigins must be an array');
  });

  it('normalizes the origins it is given: https://App.example:443/ lets https://app.example in', async () => {
    const { server } = await setup({
      allowedOrigins: ['https://App.example:443/'],
      authenticate: (handshake) => sessionOf(handshake.headers.cookie),
    });
    await connected(server.client({}, { extraHeaders: { origin: 'https://app.example', cookie } }));
  });
});

describe('attachCallTrack: tenant isolation', () => {
  it('never delivers another tenant’s events, whatever the client forges', async () => {
    const { server: guarded, tracker } = await setup({ withTracker: true });

    // Tenant a forges tenant b everywhere it can: handshake, subscription payloads.
    const a = guarded.client({ token: 'token:a:u1', tenantId: 'b', tenant: 'b' });
    const b = guarded.client({ token: 'token:b:u2' });
    const logA = createEventLog(a);
    const logB = createEventLog(b);
    await Promise.all([connected(a), connected(b)]);

    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-b' }));
    expect(await ack(a, 'subscribe_to_calls', { tenantId: 'b', types: ['call.*'] })).toEqual({
      ok: true,
    });
    expect(await ack(b, 'subscribe_to_calls')).toEqual({ ok: true });
    expect(await ack(a, 'subscribe_to_call', { callId: 'CA-b', tenantId: 'b' })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });

    const published: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      const tenant = index % 2 === 0 ? 'a' : 'b';
      const event = makeEvent(tenant, {
        type: 'call.ringing',
        callId: `CA-${tenant}-${index}`,
        id: `iso-${tenant}-${index}`,
      });
      await tracker.ingest(event);
      published.push(event.id);
    }
    const updatesA = await logA.waitFor('call_update', 10);
    // b's next delivery is its own; make sure a has seen everything published before checking.
    const probe = makeEvent('a', { id: 'probe-a', callId: 'CA-a-probe', type: 'call.ringing' });
    await tracker.ingest(probe);
    await logA.waitFor('call_update', 11);

    for (const entry of logA.events) {
      const payload = entry.payload as Partial<CallTrackDelivery> & {
        calls?: { tenantId: string }[];
      };
      if (payload.event) expect(payload.event.tenantId).toBe('a');
      for (const call of payload.calls ?? []) expect(call.tenantId).toBe('a');
    }
    expect(ids(updatesA.slice(0, 10))).toEqual(published.filter((id) => id.startsWith('iso-a')));
    expect(logA.named('active_calls')).toEqual([
      {
        name: 'active_calls',
        payload: { calls: [], complete: true, cursor: expect.any(String) },
      },
    ]);
    expect(logA.named('call_data')).toEqual([]);
    expect(ids(await logB.waitFor('call_update', 10))).toEqual(
      published.filter((id) => id.startsWith('iso-b')),
    );
    expect(logB.named('active_calls')[0]?.payload).toMatchObject({
      calls: [{ tenantId: 'b', callId: 'CA-b' }],
    });
  });

  it('keeps one bus subscription per tenant per process, from first connection to last', async () => {
    const { server, bus } = await setup();
    const a1 = server.client({ token: 'token:a:u1' });
    const a2 = server.client({ token: 'token:a:u2' });
    const b1 = server.client({ token: 'token:b:u1' });
    await Promise.all([connected(a1), connected(a2), connected(b1)]);
    await Promise.all([ack(a1, 'subscribe_to_calls'), ack(a2, 'subscribe_to_calls')]);
    expect(bus.open('a')).toBe(1);
    expect(bus.open('b')).toBe(1);
    await disconnectAndWait(server.io, a1);
    expect(bus.open('a')).toBe(1);
    await disconnectAndWait(server.io, a2);
    expect(bus.open('a')).toBe(0);
    expect(bus.open('b')).toBe(1);
  });
});

describe('attachCallTrack: resume', () => {
  it('delivers exactly the 50 events missed while disconnected, in order, after auth.lastCursor', async () => {
    const { server, bus } = await setup();
    const first = server.client({ token: 'token:a:u1' });
    const firstLog = createEventLog(first);
    await connected(first);
    await ack(first, 'subscribe_to_calls');
    for (let index = 0; index < 5; index += 1) await bus.publish(makeEvent('a'));
    const before = await firstLog.waitFor('call_update', 5);
    const lastCursor = cursors(before).at(-1);
    await disconnectAndWait(server.io, first);

    const missed: string[] = [];
    for (let index = 0; index < 50; index += 1) {
      const event = makeEvent('a', { id: `missed-${index}` });
      missed.push(event.id);
      await bus.publish(event);
      await bus.publish(makeEvent('b'));
    }

    const again = server.client({ token: 'token:a:u1', lastCursor });
    const log = createEventLog(again);
    await connected(again);
    const replayed = await log.waitFor('call_update', 50);
    expect(ids(replayed)).toEqual(missed);

    // The seam: the next live event arrives once, right after the replay.
    const live = makeEvent('a', { id: 'live-after-resume' });
    await bus.publish(live);
    const all = await log.waitFor('call_update', 51);
    expect(ids(all)).toEqual([...missed, live.id]);
    expect(new Set(cursors(all)).size).toBe(51);
    expect(log.named('reset')).toEqual([]);
    expect(log.named('active_calls')).toEqual([]);
  });

  it('resumes with subscribe_to_calls({ after }) while events keep arriving, without a gap or a duplicate', async () => {
    const { server, bus } = await setup();
    const watcher = server.client({ token: 'token:a:w' });
    const watcherLog = createEventLog(watcher);
    await connected(watcher);
    await ack(watcher, 'subscribe_to_calls');
    const start = await bus.publish(makeEvent('a', { id: 'start' }));
    for (let index = 0; index < 30; index += 1)
      await bus.publish(makeEvent('a', { id: `gap-${index}` }));

    const resumer = server.client({ token: 'token:a:u1' });
    const log = createEventLog(resumer);
    await connected(resumer);
    // Publish concurrently with the replay, so the seam is crossed while both sources are busy.
    const publishing = (async () => {
      for (let index = 0; index < 60; index += 1) {
        await bus.publish(makeEvent('a', { id: `during-${index}` }));
        if (index % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    expect(await ack(resumer, 'subscribe_to_calls', { after: start.cursor })).toEqual({ ok: true });
    await publishing;
    const expected = ids(await watcherLog.waitFor('call_update', 91)).slice(1);
    const received = await log.waitFor('call_update', 90);
    expect(ids(received)).toEqual(expected);
    expect(received).toHaveLength(90);
    await bus.publish(makeEvent('a', { id: 'tail' }));
    expect(ids(await log.waitFor('call_update', 91)).at(-1)).toBe('tail');
    expect(log.named('call_update')).toHaveLength(91);
  });

  it('joins the live rooms when the replay is ahead of the shared subscription', async () => {
    // Many connections resuming at once while events flow: every one gets a gapless sequence.
    const { server, bus } = await setup();
    const base = await bus.publish(makeEvent('a', { id: 'base' }));
    const sockets = Array.from({ length: 8 }, (_, index) =>
      server.client({ token: `token:a:u${index}`, lastCursor: base.cursor }),
    );
    const logs = sockets.map(createEventLog);
    const publishing = (async () => {
      for (let index = 0; index < 40; index += 1) {
        await bus.publish(makeEvent('a', { id: `flow-${index}` }));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(sockets.map(connected));
    await publishing;
    const expected = Array.from({ length: 40 }, (_, index) => `flow-${index}`);
    for (const log of logs) expect(ids(await log.waitFor('call_update', 40))).toEqual(expected);
    await bus.publish(makeEvent('a', { id: 'flow-end' }));
    for (const log of logs) {
      expect(ids(await log.waitFor('call_update', 41))).toEqual([...expected, 'flow-end']);
    }
  });
});

describe('attachCallTrack: reset', () => {
  it('sends reset (stream-reset) for an unknown cursor, then reloads with subscribe_to_calls()', async () => {
    const { server, tracker } = await setup({ withTracker: true });
    await tracker.ingest(makeEvent('a', { type: 'call.ringing', callId: 'CA-1' }));
    const socket = server.client({ token: 'token:a:u1', lastCursor: 'not-a-cursor' });
    const log = createEventLog(socket);
    await connected(socket);
    expect((await log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'stream-reset' });

    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const [snapshot] = await log.waitFor('active_calls');
    expect(snapshot?.payload).toMatchObject({ calls: [{ callId: 'CA-1', status: 'ringing' }] });
    await tracker.ingest(makeEvent('a', { type: 'call.answered', callId: 'CA-1' }));
    expect((await log.waitFor('call_update'))[0]?.payload).toMatchObject({
      event: { type: 'call.answered', data: { call: { status: 'in-progress' } } },
    });
  });

  it('sends reset (history-gap) when the missed events have left history', async () => {
    const { server, bus } = await setup({ history: 10 });
    const first = await bus.publish(makeEvent('a'));
    for (let index = 0; index < 30; index += 1) await bus.publish(makeEvent('a'));
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls', { after: first.cursor })).toEqual({ ok: true });
    expect((await log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'history-gap' });
    expect(log.named('call_update')).toEqual([]);
    // Reloaded: live events flow again.
    await ack(socket, 'subscribe_to_calls');
    const live = makeEvent('a', { id: 'after-reset' });
    await bus.publish(live);
    expect(ids(await log.waitFor('call_update'))).toEqual([live.id]);
  });

  it('sends reset to a connection with only call subscriptions when the channel loses events', async () => {
    const bus = createMemoryBus({ history: { maxEvents: 3 }, maxBufferedMessages: 3 });
    buses.push(bus);
    const tracker = createTestTracker(bus);
    const server = await startSocketServer(bus, { tracker: tracker.reader });
    servers.push(server);
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-1' }));
    const stream = server.client({ token: 'token:a:u1' });
    const streamLog = createEventLog(stream);
    const call = server.client({ token: 'token:a:u2' });
    const callLog = createEventLog(call);
    // The same call id in another tenant, whose channel loses nothing.
    const other = server.client({ token: 'token:b:u1' });
    const otherLog = createEventLog(other);
    await Promise.all([connected(stream), connected(call), connected(other)]);
    expect(await ack(stream, 'subscribe_to_calls')).toEqual({ ok: true });
    expect(await ack(other, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    // One event emitted first, so the channel has a cursor to resume after.
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    expect(await ack(call, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    await streamLog.waitFor('call_update');

    // Faster than the channel reads: it lags, and history has trimmed what it missed.
    const burst = Array.from({ length: 10 }, (_, index) =>
      makeEvent('a', { type: index === 9 ? 'call.ended' : 'call.transcript', callId: 'CA-1' }),
    );
    await Promise.all(burst.map((event) => bus.publish(event)));
    expect((await streamLog.waitFor('reset'))[0]?.payload).toEqual({ reason: 'history-gap' });
    // Probe: a later event reaches both, so whatever the burst brought has arrived.
    const probe = makeEvent('a', { callId: 'CA-1' });
    await bus.publish(probe);
    await Promise.all([received(streamLog, probe.id), received(callLog, probe.id)]);
    const delivered = ids(callLog.named('call_update'));
    const missed = burst.filter((event) => !delivered.includes(event.id));
    expect(missed.length).toBeGreaterThan(0);
    expect(callLog.named('reset').map((entry) => entry.payload)).toEqual([
      { reason: 'history-gap' },
    ]);
    const otherProbe = makeEvent('b', { callId: 'CA-1' });
    await bus.publish(otherProbe);
    await received(otherLog, otherProbe.id);
    expect(otherLog.named('reset')).toEqual([]);
    // Reloaded: subscribing again answers with the call as it is now.
    expect(await ack(call, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    expect(callLog.named('call_data')).toHaveLength(2);
  });

  it('sends reset (lagged) to a connection whose catch-up outgrows maxPendingEvents', async () => {
    const { server, bus } = await setup({ maxPendingEvents: 5, history: 100 });
    const base = await bus.publish(makeEvent('a'));
    for (let index = 0; index < 10; index += 1) await bus.publish(makeEvent('a'));
    const socket = server.client({ token: 'token:a:u1', lastCursor: base.cursor });
    const log = createEventLog(socket);
    await connected(socket);
    expect((await log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'lagged' });
  });
});

describe('attachCallTrack: snapshot, lifecycle and call subscriptions', () => {
  it('sends active_calls from the tracker, then the stream with lifecycle events', async () => {
    const { server, tracker } = await setup({ withTracker: true });
    await tracker.ingest(makeEvent('a', { type: 'call.ringing', callId: 'CA-1' }));
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-2' }));
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-3' }));
    await tracker.ingest(makeEvent('a', { type: 'call.ended', callId: 'CA-3' }));
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-b' }));

    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const [snapshot] = log.named('active_calls');
    const payload = snapshot?.payload as { calls: { callId: string }[]; cursor: string };
    expect(payload.calls.map((call) => call.callId).sort()).toEqual(['CA-1', 'CA-2']);
    // Nothing was published since this process subscribed for tenant a: the channel's start,
    // made up (the counting bus has no position(), as a bus of your own may not).
    expect(payload.cursor).toMatch(/^calltrack:start:/);

    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-4' }));
    await tracker.ingest(makeEvent('a', { type: 'call.ringing', callId: 'CA-4' }));
    await tracker.ingest(makeEvent('a', { type: 'call.ended', callId: 'CA-4' }));
    await tracker.ingest(makeEvent('a', { type: 'call.recording', callId: 'CA-4' }));
    await log.waitFor('call_update', 4);
    expect(log.events.map((entry) => entry.name)).toEqual([
      'active_calls',
      'call_update',
      'call:started',
      'call_update',
      'call:status_updated',
      'call_update',
      'call:completed',
      'call_update',
    ]);
    const started = log.named('call:started')[0]?.payload as CallTrackDelivery;
    expect(started).toEqual(log.named('call_update')[0]?.payload);

    // A later snapshot names the position it was taken at: the last event emitted.
    const later = server.client({ token: 'token:a:u2' });
    const laterLog = createEventLog(later);
    await connected(later);
    await ack(later, 'subscribe_to_calls');
    expect(laterLog.named('active_calls')[0]?.payload).toEqual({
      calls: expect.any(Array),
      complete: true,
      cursor: cursors(log.named('call_update')).at(-1),
    });
  });

  it('reads one snapshot at a time per connection, however often the client asks without waiting', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const tracker = createTestTracker(bus);
    const real = tracker.reader;
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await startSocketServer(bus, {
      tracker: {
        getCall: (tenantId, callId) => real.getCall(tenantId, callId),
        listActiveCalls: async (tenantId, options) => {
          started += 1;
          await gate;
          return real.listActiveCalls(tenantId, options);
        },
        listActiveCallsAcrossTenants: (options) => real.listActiveCallsAcrossTenants(options),
      },
    });
    servers.push(server);
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    // 20 requests, none waiting for its answer, while the tracker is slow: each could start a
    // read of up to snapshotLimit calls, held in memory until the tracker answers.
    const answers: Promise<CallTrackAck>[] = [];
    for (let request = 0; request < 20; request += 1) {
      answers.push(ack(socket, 'subscribe_to_calls'));
      // Answered once that request was handled (a connection's packets are handled in order).
      await ack(socket, 'unsubscribe_from_call', { callId: 'CA-none' });
    }
    expect(started).toBe(1);
    release();
    expect(await Promise.all(answers)).toEqual(answers.map(() => ({ ok: true })));
    // The read in progress, then the latest request's own: the ones between were superseded.
    expect(started).toBe(2);
    expect(log.named('active_calls')).toHaveLength(1);
    const ringing = makeEvent('a', { type: 'call.ringing', callId: 'CA-1' });
    await tracker.ingest(ringing);
    expect(ids(await log.waitFor('call_update'))).toEqual([ringing.id]);
  });

  it('runs one replay at a time per connection, however often the client asks to resume without waiting', async () => {
    const bus = slowReplayBus(createMemoryBus());
    buses.push(bus);
    const server = await startSocketServer(bus);
    servers.push(server);
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const events = [1, 2, 3].map((n) =>
      makeEvent('a', { type: 'call.ringing', callId: `CA-${n}` }),
    );
    for (const event of events) await bus.publish(event);
    await log.waitFor('call_update', 3);
    const [first] = cursors(log.named('call_update'));
    // 20 resumes, none waiting for its answer, while history reads are slow (a Redis bus reading
    // a page of up to replayBatchSize events): each could start a read of its own, every one of
    // them running to its end even once the next request closed its subscription.
    bus.hold();
    const answers: Promise<CallTrackAck>[] = [];
    for (let request = 0; request < 20; request += 1) {
      answers.push(ack(socket, 'subscribe_to_calls', { after: first }));
      // Answered once that request was handled (a connection's packets are handled in order).
      await ack(socket, 'unsubscribe_from_call', { callId: 'CA-none' });
    }
    expect(bus.replays).toMatchObject({ started: 1, maxInFlight: 1 });
    bus.release();
    expect(await Promise.all(answers)).toEqual(answers.map(() => ({ ok: true })));
    // The read in progress, then the latest request's own: the ones between were superseded.
    expect(bus.replays).toMatchObject({ started: 2, maxInFlight: 1 });
    // The latest request's replay: the events after `first`, once, then the live ones.
    const probe = makeEvent('a', { type: 'call.ringing', callId: 'CA-4' });
    await bus.publish(probe);
    await received(log, probe.id);
    expect(ids(log.named('call_update'))).toEqual(
      [...events, events[1], events[2], probe].map((e) => e?.id),
    );
  });

  it('says whether active_calls lists every active call: complete false past 1,000 calls', async () => {
    const { server, tracker } = await setup({ withTracker: true });
    // Tenant a: one call more than a snapshot holds. b: exactly as many. c: one call.
    for (const [tenantId, count] of [
      ['a', 1001],
      ['b', 1000],
      ['c', 1],
    ] as const) {
      for (let index = 0; index < count; index += 1) {
        await tracker.ingest(
          makeEvent(tenantId, { type: 'call.ringing', callId: `CA-${tenantId}-${index}` }),
        );
      }
    }
    const snapshotOf = (token: string) => activeCallsOf(server, token);
    const a = await snapshotOf('token:a:u1');
    expect(a.complete).toBe(false);
    expect(a.calls).toHaveLength(1000);
    // Newest first: the oldest call is the one left out.
    expect(a.calls).not.toContain('CA-a-0');
    const b = await snapshotOf('token:b:u1');
    expect(b).toMatchObject({ complete: true });
    expect(b.calls).toHaveLength(1000);
    expect(await snapshotOf('token:c:u1')).toEqual({ calls: ['CA-c-0'], complete: true });
    expect(await snapshotOf('token:d:u1')).toEqual({ calls: [], complete: true });
    // Every tenant's 2,002 calls: cut at 1,000 too.
    const admin = await snapshotOf('admin:ops:root');
    expect(admin.complete).toBe(false);
    expect(admin.calls).toHaveLength(1000);
  });

  it('cuts active_calls at snapshotLimit, and refuses a limit the tracker cannot serve', async () => {
    const { server, tracker } = await setup({ withTracker: true, snapshotLimit: 2 });
    for (let index = 0; index < 3; index += 1) {
      await tracker.ingest(makeEvent('a', { type: 'call.ringing', callId: `CA-a-${index}` }));
    }
    await tracker.ingest(makeEvent('b', { type: 'call.ringing', callId: 'CA-b-0' }));
    await tracker.ingest(makeEvent('b', { type: 'call.ringing', callId: 'CA-b-1' }));
    const snapshotOf = (token: string) => activeCallsOf(server, token);
    expect(await snapshotOf('token:a:u1')).toEqual({
      calls: ['CA-a-2', 'CA-a-1'],
      complete: false,
    });
    expect(await snapshotOf('token:b:u1')).toEqual({ calls: ['CA-b-1', 'CA-b-0'], complete: true });
    for (const snapshotLimit of [0, 1.5, 10_001]) {
      await expect(setup({ snapshotLimit })).rejects.toThrow(/snapshotLimit/);
    }
  });

  it('filters the stream by types', async () => {
    const { server, bus } = await setup();
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls', { types: ['call.ended'] })).toEqual({
      ok: true,
    });
    await bus.publish(makeEvent('a', { type: 'call.ringing' }));
    const ended = makeEvent('a', { type: 'call.ended' });
    await bus.publish(ended);
    expect(ids(await log.waitFor('call_update'))).toEqual([ended.id]);
    // Switching to every type is exact too.
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const ringing = makeEvent('a', { type: 'call.ringing' });
    await bus.publish(ringing);
    expect(ids(await log.waitFor('call_update', 2))).toEqual([ended.id, ringing.id]);
    expect(await server.io.in(callsRoom('a', 'call.ended')).fetchSockets()).toEqual([]);
  });

  it('subscribes to one call: call_data, its events only, and unsubscribes', async () => {
    const { server, tracker } = await setup({ withTracker: true });
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-2' }));
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-b' }));

    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    expect(log.named('call_data')[0]?.payload).toMatchObject({
      call: { tenantId: 'a', callId: 'CA-1', status: 'queued' },
    });
    expect(await server.io.in(callRoom('a', 'CA-1')).fetchSockets()).toHaveLength(1);

    // Another tenant's call and an unknown call: error ack, no room, no data.
    for (const callId of ['CA-b', 'CA-unknown']) {
      expect(await ack(socket, 'subscribe_to_call', { callId })).toEqual({
        ok: false,
        error: { code: 'not_found', message: `Call ${callId} not found` },
      });
    }
    expect(await server.io.in(callRoom('a', 'CA-b')).fetchSockets()).toEqual([]);

    await tracker.ingest(makeEvent('a', { type: 'call.ringing', callId: 'CA-2' }));
    await tracker.ingest(makeEvent('b', { type: 'call.ringing', callId: 'CA-b' }));
    const ringing = makeEvent('a', { type: 'call.ringing', callId: 'CA-1' });
    await tracker.ingest(ringing);
    expect(ids(await log.waitFor('call_update'))).toEqual([ringing.id]);
    expect(log.named('call:status_updated')).toHaveLength(1);

    expect(await ack(socket, 'unsubscribe_from_call', { callId: 'CA-1' })).toEqual({ ok: true });
    await tracker.ingest(makeEvent('a', { type: 'call.answered', callId: 'CA-1' }));
    // A stream subscription is the probe: its first event shows nothing else came in between.
    await ack(socket, 'subscribe_to_calls', { types: ['call.ended'] });
    const ended = makeEvent('a', { type: 'call.ended', callId: 'CA-2' });
    await tracker.ingest(ended);
    expect(ids(await log.waitFor('call_update', 2))).toEqual([ringing.id, ended.id]);
    expect(log.named('call_data')).toHaveLength(1);
  });

  it('unsubscribe_from_calls stops the stream; the call subscriptions stay', async () => {
    const { server, tracker } = await setup({ withTracker: true });
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    const streamed = makeEvent('a', { type: 'call.initiated', callId: 'CA-2' });
    await tracker.ingest(streamed);
    expect(ids(await log.waitFor('call_update'))).toEqual([streamed.id]);

    expect(await ack(socket, 'unsubscribe_from_calls')).toEqual({ ok: true });
    expect(await server.io.in(callsRoom('a')).fetchSockets()).toEqual([]);
    // In order: were the stream still on, CA-2's event would come before CA-1's.
    await tracker.ingest(makeEvent('a', { type: 'call.ringing', callId: 'CA-2' }));
    const followed = makeEvent('a', { type: 'call.ringing', callId: 'CA-1' });
    await tracker.ingest(followed);
    expect(ids(await log.waitFor('call_update', 2))).toEqual([streamed.id, followed.id]);
    expect(await server.io.in(callRoom('a', 'CA-1')).fetchSockets()).toHaveLength(1);
  });

  it('bounds call subscriptions per connection', async () => {
    const { server } = await setup({ maxFollowedCalls: 2 });
    const socket = server.client({ token: 'token:a:u1' });
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-2' })).toEqual({ ok: true });
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-3' })).toMatchObject({
      ok: false,
      error: { code: 'too_many_subscriptions' },
    });
  });

  it('answers internal_error when the tracker fails, and reports it with the connection', async () => {
    const reports: [unknown, CallTrackSocketErrorInfo][] = [];
    const bus = createMemoryBus();
    buses.push(bus);
    const failing = {
      getCall: async () => {
        throw new Error('store down');
      },
      listActiveCalls: async () => {
        throw new Error('store down');
      },
      listActiveCallsAcrossTenants: async () => {
        throw new Error('store down');
      },
    };
    const server = await startSocketServer(bus, {
      tracker: failing,
      onError: (error, info) => reports.push([error, info]),
    });
    servers.push(server);
    const socket = server.client({ token: 'token:a:u1' });
    await connected(socket);
    for (const [event, payload] of [
      ['subscribe_to_calls', undefined],
      ['subscribe_to_call', { callId: 'CA-1' }],
    ] as const) {
      expect(await ack(socket, event, payload)).toEqual({
        ok: false,
        error: { code: 'internal_error', message: 'The request failed' },
      });
    }
    const connection = { socketId: socket.id, principal: { tenantId: 'a', userId: 'u1' } };
    expect(reports).toEqual([
      [new Error('store down'), connection],
      [new Error('store down'), connection],
    ]);
  });
  // Neither is a failure of the server's to report: Redis down is answered `unavailable` (the
  // client retries after retryAfterMs), a request refused as bad `invalid_argument` (it does not).
  const trackerRefusals = [
    {
      name: 'answers unavailable with retryAfterMs when the tracker cannot reach Redis, without reporting it',
      error: () => new RedisUnavailableError({ message: 'Redis is unavailable' }),
      answer: { code: 'unavailable', message: 'Redis is unavailable', retryAfterMs: 5_000 },
    },
    {
      name: 'answers invalid_argument when the tracker refuses a request as bad, in subscribe_to_calls as in subscribe_to_call, without reporting it',
      // An app's own reader that refuses what it is asked (a tenant it does not serve, say).
      error: () => new InvalidArgumentError({ message: 'Tenant a is not served here' }),
      answer: { code: 'invalid_argument', message: 'Tenant a is not served here' },
    },
  ];
  for (const { name, error, answer } of trackerRefusals) {
    it(name, async () => {
      const reports: unknown[] = [];
      const bus = createMemoryBus();
      buses.push(bus);
      const refuse = async (): Promise<never> => {
        throw error();
      };
      const server = await startSocketServer(bus, {
        tracker: { getCall: refuse, listActiveCalls: refuse, listActiveCallsAcrossTenants: refuse },
        onError: (reported) => reports.push(reported),
      });
      servers.push(server);
      const socket = server.client({ token: 'token:a:u1' });
      await connected(socket);
      for (const [event, payload] of [
        ['subscribe_to_calls', undefined],
        ['subscribe_to_call', { callId: 'CA-1' }],
      ] as const) {
        expect(await ack(socket, event, payload)).toEqual({ ok: false, error: answer });
      }
      expect(reports).toEqual([]);
      expect(socket.connected).toBe(true);
    });
  }
  it('keeps a call subscription when the same call is asked for again and that read fails', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const tracker = createTestTracker(bus);
    let down = false;
    const real = tracker.reader;
    const server = await startSocketServer(bus, {
      tracker: {
        getCall: (tenantId, callId) =>
          down
            ? Promise.reject(new RedisUnavailableError({ message: 'Redis is unavailable' }))
            : real.getCall(tenantId, callId),
        listActiveCalls: (tenantId, options) => real.listActiveCalls(tenantId, options),
        listActiveCallsAcrossTenants: (options) => real.listActiveCallsAcrossTenants(options),
      },
    });
    servers.push(server);
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    // Asked again (a client retrying, a handshake listing it twice) while the tracker is down.
    down = true;
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-1' })).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    down = false;
    expect(await server.io.in(callRoom('a', 'CA-1')).fetchSockets()).toHaveLength(1);
    // A stream subscription is the probe: its first event shows nothing else came in between.
    await ack(socket, 'subscribe_to_calls', { types: ['call.ended'] });
    const ringing = makeEvent('a', { type: 'call.ringing', callId: 'CA-1' });
    await tracker.ingest(ringing);
    const ended = makeEvent('a', { type: 'call.ended', callId: 'CA-2' });
    await tracker.ingest(ended);
    await received(log, ended.id);
    expect(ids(log.named('call_update'))).toEqual([ringing.id, ended.id]);
  });
});

describe('attachCallTrack: the same call asked for twice at once', () => {
  it('keeps the subscription a later request set up when the earlier one’s read fails after it', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const tracker = createTestTracker(bus);
    const real = tracker.reader;
    // The first read of CA-1 waits for the test, then fails as on a Redis that went down.
    let failFirst!: () => void;
    const firstFails = new Promise<void>((resolve) => {
      failFirst = resolve;
    });
    let firstAsked!: () => void;
    const firstStarted = new Promise<void>((resolve) => {
      firstAsked = resolve;
    });
    let reads = 0;
    const server = await startSocketServer(bus, {
      tracker: {
        getCall: async (tenantId, callId) => {
          reads += 1;
          if (reads === 1) {
            firstAsked();
            await firstFails;
            throw new RedisUnavailableError({ message: 'Redis is unavailable' });
          }
          return real.getCall(tenantId, callId);
        },
        listActiveCalls: (tenantId, options) => real.listActiveCalls(tenantId, options),
        listActiveCallsAcrossTenants: (options) => real.listActiveCallsAcrossTenants(options),
      },
    });
    servers.push(server);
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    const first = ack(socket, 'subscribe_to_call', { callId: 'CA-1' });
    await firstStarted;
    // The client asks again (a retry, a second view of the call) and is told it follows it.
    expect(await ack(socket, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({ ok: true });
    failFirst();
    expect(await first).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    // A stream subscription is the probe: its first event shows nothing else came in between.
    await ack(socket, 'subscribe_to_calls', { types: ['call.ended'] });
    const ringing = makeEvent('a', { type: 'call.ringing', callId: 'CA-1' });
    await tracker.ingest(ringing);
    const ended = makeEvent('a', { type: 'call.ended', callId: 'CA-2' });
    await tracker.ingest(ended);
    await received(log, ended.id);
    expect(ids(log.named('call_update'))).toEqual([ringing.id, ended.id]);
  });
});

describe('attachCallTrack: malformed payloads', () => {
  it('answers invalid_payload with a clear message and keeps serving', async () => {
    const { server, bus } = await setup();
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    const cases: [string, unknown, string][] = [
      ['subscribe_to_call', undefined, 'subscribe_to_call: '],
      ['subscribe_to_call', 'CA-1', 'subscribe_to_call: '],
      ['subscribe_to_call', { callId: 5 }, 'callId'],
      ['subscribe_to_call', { callId: '' }, 'callId'],
      ['subscribe_to_call', { callId: 'x'.repeat(300) }, 'callId'],
      ['unsubscribe_from_call', {}, 'callId'],
      ['subscribe_to_calls', { after: 5 }, 'after'],
      ['subscribe_to_calls', { types: 'call.ended' }, 'types'],
      ['subscribe_to_calls', { types: ['NOT A TYPE'] }, 'types.0'],
      ['subscribe_to_calls', 'everything', 'subscribe_to_calls: '],
    ];
    for (const [event, payload, mentions] of cases) {
      const answer = await ack(socket, event, payload);
      expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
      if (!answer.ok) expect(answer.error.message).toContain(mentions);
    }
    // Without an acknowledgement callback, and with an unknown event: no crash.
    socket.emit('subscribe_to_call', { callId: 7 });
    socket.emit('subscribe_to_calls', { after: [] });
    socket.emit('no_such_event', { anything: true });
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const event = makeEvent('a');
    await bus.publish(event);
    expect(ids(await log.waitFor('call_update'))).toEqual([event.id]);
    expect(socket.connected).toBe(true);
  });
});

describe('attachCallTrack: options', () => {
  it('refuses missing or malformed options with a clear InvalidArgumentError', () => {
    const io = new Server();
    const bus = createMemoryBus();
    buses.push(bus);
    const authenticate = () => null;
    expect(() => attachCallTrack(io, { bus } as never)).toThrow('needs an authenticate function');
    expect(() => attachCallTrack(io, { authenticate } as never)).toThrow('needs a bus');
    for (const maxFollowedCalls of [0, -1, 1.5]) {
      expect(() => attachCallTrack(io, { bus, authenticate, maxFollowedCalls })).toThrow(
        'maxFollowedCalls must be an integer ≥ 1',
      );
    }
    expect(() => attachCallTrack(io, { bus, authenticate, maxPendingEvents: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    for (const maxBufferedPackets of [0, 2.5]) {
      expect(() => attachCallTrack(io, { bus, authenticate, maxBufferedPackets })).toThrow(
        'maxBufferedPackets must be an integer ≥ 1',
      );
    }
    for (const maxBufferedBytes of [0, 2.5]) {
      expect(() => attachCallTrack(io, { bus, authenticate, maxBufferedBytes })).toThrow(
        'maxBufferedBytes must be an integer ≥ 1',
      );
    }
  });

  it('refuses an attachTimeoutMs a timer cannot wait, as the SSE handler and tRPC do', () => {
    const io = new Server();
    const bus = createMemoryBus();
    buses.push(bus);
    const authenticate = () => null;
    for (const attachTimeoutMs of [0, -1, 1.5, 2 ** 31]) {
      expect(() => attachCallTrack(io, { bus, authenticate, attachTimeoutMs })).toThrow(
        expect.objectContaining({
          code: 'invalid_argument',
          message: 'attachCallTrack: attachTimeoutMs must be an integer from 1 to 2147483647.',
        }),
      );
    }
    expect(() =>
      attachCallTrack(io, { bus, authenticate, attachTimeoutMs: 2 ** 31 - 1 }),
    ).not.toThrow();
  });
});

describe('attachCallTrack: close()', () => {
  it('detaches middleware, listeners and rooms and ends its bus subscriptions', async () => {
    const { server, bus } = await setup();
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    await ack(socket, 'subscribe_to_calls');
    await ack(socket, 'subscribe_to_call', { callId: 'CA-1' });
    expect(bus.open()).toBe(1);

    await server.calltrack.close();
    expect(bus.open()).toBe(0);
    const [serverSocket] = await server.io.fetchSockets();
    expect(serverSocket?.rooms).toEqual(new Set([socket.id]));
    expect(serverSocket?.data.calltrack).toBeUndefined();
    const local = server.io.of('/').sockets.get(socket.id ?? '');
    expect(local?.listeners('subscribe_to_calls')).toEqual([]);
    expect(local?.listeners('disconnect')).toEqual([]);
    expect(server.io.of('/').listeners('connection')).toEqual([]);

    // Events no longer reach the client: an app emit after the publish is the next thing it sees.
    await bus.publish(makeEvent('a', { callId: 'CA-1' }));
    server.io.emit('probe');
    await log.waitFor('probe');
    expect(log.named('call_update')).toEqual([]);

    // The middleware is gone: the app's own rules (none here) decide about new connections.
    const other = server.client({});
    await connected(other);
    await server.calltrack.close();
  });

  it('leaves Socket.IO’s middleware list alone: a closed attach lets handshakes through untouched, a new one works', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    let calls = 0;
    const server = await startSocketServer(bus, {
      authenticate: (handshake) => {
        calls += 1;
        return verifyTestToken(handshake.auth.token);
      },
    });
    servers.push(server);
    await connected(server.client({ token: 'token:a:u1' }));
    expect(calls).toBe(1);
    await server.calltrack.close();

    // No longer consulted, no longer refusing, no calltrack data on the connection.
    const anonymous = server.client({ token: 'forged' });
    await connected(anonymous);
    expect(calls).toBe(1);
    expect(server.io.of('/').sockets.get(anonymous.id ?? '')?.data.calltrack).toBeUndefined();

    // calltrack attached again on the same server serves as before.
    const again = attachCallTrack(server.io, {
      bus,
      authenticate: (handshake) => verifyTestToken(handshake.auth.token),
      onError: () => {},
    });
    try {
      expect((await refused(server.client({ token: 'forged' }))).data).toEqual({
        code: 'unauthorized',
      });
      const socket = server.client({ token: 'token:a:u2' });
      const log = createEventLog(socket);
      await connected(socket);
      expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
      await bus.publish(makeEvent('a', { id: 'reattached' }));
      expect(ids(await log.waitFor('call_update'))).toEqual(['reattached']);
    } finally {
      await again.close();
    }
  });
});

describe('attachCallTrack: the replay/live seam', () => {
  async function seamSetup() {
    const bus = gatedBus(createMemoryBus());
    buses.push(bus);
    const server = await startSocketServer(bus);
    servers.push(server);
    const watcher = server.client({ token: 'token:a:w' });
    const watcherLog = createEventLog(watcher);
    await connected(watcher);
    await ack(watcher, 'subscribe_to_calls');
    const base = await bus.publish(makeEvent('a', { id: 'e0' }));
    await watcherLog.waitFor('call_update', 1);
    return { bus, server, base, watcherLog };
  }

  const upTo = (count: number) => Array.from({ length: count }, (_, index) => `e${index + 1}`);

  it('stops a replay that is ahead and joins when the shared subscription reaches it', async () => {
    const { bus, server, base } = await seamSetup();
    bus.hold('live');
    for (let index = 1; index <= 5; index += 1)
      await bus.publish(makeEvent('a', { id: `e${index}` }));
    const resumer = server.client({ token: 'token:a:u1', lastCursor: base.cursor });
    const log = createEventLog(resumer);
    await connected(resumer);
    // The replay delivered e1…e5 while the shared subscription still stands at e0.
    expect(ids(await log.waitFor('call_update', 5))).toEqual(upTo(5));
    bus.release('live');
    await bus.publish(makeEvent('a', { id: 'e6' }));
    await bus.publish(makeEvent('a', { id: 'e7' }));
    expect(ids(await log.waitFor('call_update', 7))).toEqual(upTo(7));
    expect(await server.io.in(callsRoom('a')).fetchSockets()).toHaveLength(2);
  });

  it('joins at once when the shared subscription emits exactly the replay’s last cursor', async () => {
    const { bus, server, base, watcherLog } = await seamSetup();
    bus.hold('live');
    await bus.publish(makeEvent('a', { id: 'e1' }));
    const resumer = server.client({ token: 'token:a:u1', lastCursor: base.cursor });
    const log = createEventLog(resumer);
    await connected(resumer);
    expect(ids(await log.waitFor('call_update', 1))).toEqual(['e1']);
    bus.release('live');
    await watcherLog.waitFor('call_update', 2);
    expect(await server.io.in(callsRoom('a')).fetchSockets()).toHaveLength(2);
    await bus.publish(makeEvent('a', { id: 'e2' }));
    expect(ids(await log.waitFor('call_update', 2))).toEqual(upTo(2));
    await bus.publish(makeEvent('a', { id: 'e3' }));
    expect(ids(await log.waitFor('call_update', 3))).toEqual(upTo(3));
  });

  it('flushes what the shared subscription emitted while a replay was behind', async () => {
    const { bus, server, base, watcherLog } = await seamSetup();
    for (let index = 1; index <= 20; index += 1)
      await bus.publish(makeEvent('a', { id: `e${index}` }));
    const resumer = server.client({ token: 'token:a:u1' });
    const log = createEventLog(resumer);
    await connected(resumer);
    bus.hold('replay');
    await ack(resumer, 'subscribe_to_calls', { after: base.cursor });
    for (let index = 21; index <= 40; index += 1)
      await bus.publish(makeEvent('a', { id: `e${index}` }));
    await watcherLog.waitFor('call_update', 41);
    bus.release('replay');
    expect(ids(await log.waitFor('call_update', 40))).toEqual(upTo(40));
    await bus.publish(makeEvent('a', { id: 'e41' }));
    expect(ids(await log.waitFor('call_update', 41))).toEqual(upTo(41));
  });
});
