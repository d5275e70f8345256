import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { makeCallEvent, startWebhookReceiver, type WebhookReceiver } from '@calltrack/test-utils';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestClock, type TestClock } from '../create-test-clock';
import type { WebhookPayload } from '../create-webhook-body';
import { createWebhookDispatcher } from '../create-webhook-dispatcher';
import type { WebhookMessage } from '../webhook-delivery';
import type { WebhookDispatcher, WebhookDispatcherOptions } from '../webhook-dispatcher';
import type { AttemptStart, WebhookStore } from '../webhook-store';
import { type HoldingReceiver, startHoldingReceiver } from './start-holding-receiver';

/** Verifies with the official library as a receiver would at `now` (the test clock's time). */
function officialVerify(
  secret: string,
  request: { body: string; headers: Record<string, string> },
  now: number,
): unknown {
  const realNow = Date.now;
  Date.now = () => now;
  try {
    return new Webhook(secret).verify(request.body, request.headers);
  } finally {
    Date.now = realNow;
  }
}

/** A store for one test, and how to dispose of it. */
export interface StoreFixture {
  store: WebhookStore;
  dispose(): Promise<void>;
}

interface Harness {
  dispatcher: WebhookDispatcher;
  bus: EventBus;
  store: WebhookStore;
  clock: TestClock;
  receiver: WebhookReceiver;
  errors: Error[];
  /** Events the dispatcher published on the bus (webhook.*). */
  published: CallEvent[];
  publish(overrides?: Partial<CallEvent>): Promise<CallEvent>;
  endpoint(
    path: string,
    settings?: Record<string, unknown>,
  ): Promise<{ id: string; secret: string }>;
}

/**
 * The dispatcher's behaviour against a real local receiver, run on every store: signatures,
 * schedule, Retry-After, timeouts, 410, auto-disable, limits, rotation, logs, stats, replay.
 */
export function describeDispatcher(
  name: string,
  makeStore: () => Promise<StoreFixture | undefined>,
): void {
  describe(`webhook dispatcher on ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const setup = async (
      overrides: Partial<WebhookDispatcherOptions> = {},
      /** Wraps the store the dispatcher gets (to make one of its calls fail). */
      wrapStore: (store: WebhookStore) => WebhookStore = (store) => store,
    ): Promise<Harness | undefined> => {
      const fixture = await makeStore();
      if (!fixture) return undefined;
      const clock = createTestClock(Math.floor(Date.now() / 1000) * 1000);
      const bus = createMemoryBus();
      const receiver = await startWebhookReceiver();
      const errors: Error[] = [];
      const published: CallEvent[] = [];
      const realPublish = bus.publish.bind(bus);
      bus.publish = async (event) => {
        if (event.type.startsWith('webhook.')) published.push(event);
        return realPublish(event);
      };
      const dispatcher = createWebhookDispatcher({
        store: wrapStore(fixture.store),
        bus,
        clock,
        allowHttp: true,
        allowedCidrs: ['127.0.0.0/8'],
        retryJitter: 0,
        timeoutMs: 1000,
        onError: (error) => errors.push(error),
        ...overrides,
      });
      cleanups.push(async () => {
        // The receiver first: requests it holds unanswered ('hang') end now, not at the timeout
        // that the dispatcher's close would wait out.
        await receiver.close();
        await dispatcher.close();
        await bus.close();
        await fixture.dispose();
      });
      await dispatcher.start();
      return {
        dispatcher,
        bus,
        store: fixture.store,
        clock,
        receiver,
        errors,
        published,
        publish: async (overrides = {}) => {
          const event = makeCallEvent({
            tenantId: 'acme',
            type: 'call.ended',
            status: 'completed',
            ...overrides,
          });
          await bus.publish(event);
          return event;
        },
        endpoint: async (path, settings = {}) => {
          const { endpoint, secret } = await dispatcher.createEndpoint('acme', {
            url: `${receiver.url}${path}`,
            ...settings,
          });
          return { id: endpoint.id, secret };
        },
      };
    };

    /** Waits until the dispatcher has recorded `count` attempts for the endpoint. */
    const attemptsOf = async (h: Harness, endpointId: string, count: number) => {
      for (let tries = 0; tries < 500; tries += 1) {
        const { attempts } = await h.dispatcher.listAttempts('acme', endpointId, { limit: 1000 });
        if (attempts.length >= count) return attempts;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`fewer than ${count} attempts recorded`);
    };

    /**
     * Makes `count` dead letters on a new endpoint `/down` that answers 500: publishes, then lets
     * the one retry of a `retrySchedule: [1_000]` fail too. `start` is the time before them.
     */
    const deadLetters = async (h: Harness, count = 1) => {
      const { id, secret } = await h.endpoint('/down');
      h.receiver.setDefault('/down', { status: 500 });
      const start = h.clock.now();
      const messages = [];
      for (let index = 0; index < count; index += 1) messages.push(await h.publish());
      await attemptsOf(h, id, count);
      h.clock.advance(1_000);
      await attemptsOf(h, id, 2 * count);
      return { id, secret, start, messages };
    };

    /** Waits until `check` holds (a state the queue reaches on its own, in real time). */
    const until = async (check: () => boolean, ms = 5_000) => {
      for (let tries = 0; tries < ms / 10 && !check(); tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(check()).toBe(true);
    };

    it('delivers a signed { type, timestamp, data } body the official library verifies', async () => {
      const h = await setup();
      if (!h) return;
      const { secret } = await h.endpoint('/crm', { headers: { authorization: 'Bearer t0k3n' } });
      const event = await h.publish();
      const [request] = await h.receiver.waitFor(1, { path: '/crm' });
      const payload = new Webhook(secret).verify(request!.body, request!.headers) as WebhookPayload;
      expect(payload.type).toBe('call.ended');
      expect(payload.timestamp).toBe(event.occurredAt);
      expect(payload.data).toMatchObject({
        id: event.id,
        callId: event.callId,
        status: 'completed',
      });
      expect(request!.headers['webhook-timestamp']).toBe(String(h.clock.now() / 1000));
      expect(request!.headers.authorization).toBe('Bearer t0k3n');
      expect(request!.headers['user-agent']).toMatch(/^calltrack-webhooks\//);
    });

    it('fans out to every matching endpoint of the tenant only, per its filter', async () => {
      const h = await setup();
      if (!h) return;
      await h.endpoint('/all');
      await h.endpoint('/calls', { events: ['call.*'] });
      await h.endpoint('/alerts', { events: ['alert.long_call'] });
      await h.endpoint('/off', { enabled: false });
      await h.dispatcher.createEndpoint('other', { url: `${h.receiver.url}/other` });
      await h.publish({ type: 'call.ringing', status: 'ringing' });
      await h.publish({ type: 'alert.long_call' });
      await h.receiver.waitFor(2, { path: '/all' });
      await h.receiver.waitFor(1, { path: '/calls' });
      await h.receiver.waitFor(1, { path: '/alerts' });
      expect(h.receiver.received('/calls').map((r) => JSON.parse(r.body).type)).toEqual([
        'call.ringing',
      ]);
      expect(h.receiver.received('/alerts').map((r) => JSON.parse(r.body).type)).toEqual([
        'alert.long_call',
      ]);
      expect(h.receiver.received('/off')).toHaveLength(0);
      expect(h.receiver.received('/other')).toHaveLength(0);
    });

    it('queues the deliveries of a fan-out batch whose other event failed, and the failed one on retry', async () => {
      // One send permit, held by a slow request: the batch's first attempts find none and are
      // queued at the end of the fan-out, the step a failing event of the batch used to skip.
      let failures = 0;
      // The dispatcher's clock, telling when the batch's backoff is armed on it (the only timer
      // here: nothing is retried on a schedule).
      const clock = createTestClock();
      let backoffArmed!: () => void;
      const armed = new Promise<void>((resolve) => {
        backoffArmed = resolve;
      });
      const h = await setup(
        {
          concurrency: 1,
          timeoutMs: 5_000,
          clock: {
            ...clock,
            setTimer(at, callback) {
              backoffArmed();
              return clock.setTimer(at, callback);
            },
          },
        },
        (store) => ({
          ...store,
          createDeliveries: async (message, endpointIds, retentionMs, lease) => {
            if (message.eventId === 'evt-fails-once' && failures === 0) {
              failures += 1;
              throw new Error('createDeliveries failed');
            }
            return store.createDeliveries(message, endpointIds, retentionMs, lease);
          },
        }),
      );
      if (!h) return;
      await h.endpoint('/slow', { events: ['call.ringing'] });
      await h.endpoint('/ended', { events: ['call.ended'] });
      h.receiver.respond('/slow', { status: 204, delayMs: 500 });
      await h.publish({ type: 'call.ringing', status: 'ringing' });
      await h.receiver.waitFor(1, { path: '/slow' });
      // Published together, so the dispatcher takes them as one batch.
      await Promise.all([h.publish({ id: 'evt-delivered' }), h.publish({ id: 'evt-fails-once' })]);
      // The batch is retried once its backoff (250 ms on the dispatcher's clock) is over.
      await armed;
      clock.advance(250);
      const received = await h.receiver.waitFor(2, { path: '/ended', timeoutMs: 5_000 });
      expect(failures).toBe(1);
      expect(h.errors.map((error) => error.message)).toContain('createDeliveries failed');
      const eventIds = received.map((request) => JSON.parse(request.body).data.id as string);
      expect(eventIds.sort()).toEqual(['evt-delivered', 'evt-fails-once']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(h.receiver.received('/ended')).toHaveLength(2);
    });

    it('retries on the schedule with the same webhook-id and a new timestamp, then succeeds', async () => {
      const h = await setup({ retrySchedule: [5_000, 300_000, 1_800_000] });
      if (!h) return;
      const { id, secret } = await h.endpoint('/flaky');
      h.receiver.respond('/flaky', { status: 500, body: 'boom' }, { status: 503 });
      const start = h.clock.now();
      await h.publish();
      await h.receiver.waitFor(1, { path: '/flaky' });
      const [first] = await attemptsOf(h, id, 1);
      expect(first).toMatchObject({
        attempt: 1,
        status: 'failed',
        statusCode: 500,
        responseBody: 'boom',
        error: 'HTTP 500',
        nextAttemptAt: start + 5_000,
      });
      // Not a moment early: a wake-up before the due time sends nothing.
      h.clock.advance(4_999);
      h.clock.advance(1);
      await h.receiver.waitFor(2, { path: '/flaky' });
      // 503 is throttling: the next delay is at least 60 s (here the schedule's 300 s).
      const afterSecond = await attemptsOf(h, id, 2);
      expect(afterSecond[0]).toMatchObject({
        attempt: 2,
        statusCode: 503,
        nextAttemptAt: start + 5_000 + 300_000,
      });
      h.clock.advance(300_000);
      const requests = await h.receiver.waitFor(3, { path: '/flaky' });
      expect(requests.map((r) => Number(r.headers['webhook-timestamp']) - start / 1000)).toEqual([
        0, 5, 305,
      ]);
      expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
      for (const request of requests) {
        const sentAt = Number(request.headers['webhook-timestamp']) * 1000;
        expect(() => officialVerify(secret, request, sentAt)).not.toThrow();
      }
      const log = await attemptsOf(h, id, 3);
      expect(log.map((a) => a.status)).toEqual(['succeeded', 'failed', 'failed']);
      expect(log[0]!.nextAttemptAt).toBeUndefined();
    });

    it('honours Retry-After on 429 within 1x–2x of the delay, and waits 60 s after a timeout', async () => {
      const h = await setup({ retrySchedule: [5_000, 5_000], timeoutMs: 300 });
      if (!h) return;
      const { id } = await h.endpoint('/busy');
      h.receiver.respond('/busy', { status: 429, headers: { 'retry-after': '100' } }, 'hang');
      const start = h.clock.now();
      await h.publish();
      await h.receiver.waitFor(1, { path: '/busy' });
      // 429: base raised to 60 s; Retry-After 100 s is within [60 s, 120 s].
      expect((await attemptsOf(h, id, 1))[0]).toMatchObject({
        statusCode: 429,
        nextAttemptAt: start + 100_000,
      });
      h.clock.advance(100_000);
      await h.receiver.waitFor(2, { path: '/busy' });
      const [timedOut] = await attemptsOf(h, id, 2);
      expect(timedOut).toMatchObject({
        statusCode: 0,
        status: 'failed',
        nextAttemptAt: start + 100_000 + 60_000,
      });
      expect(timedOut!.error).toMatch(/within 300 ms/);
      h.clock.advance(60_000);
      await h.receiver.waitFor(3, { path: '/busy' });
      expect((await attemptsOf(h, id, 3))[0]).toMatchObject({ status: 'succeeded', attempt: 3 });
    });

    it('honours an HTTP-date Retry-After on a 502 to the millisecond', async () => {
      const h = await setup({ retrySchedule: [5_000, 5_000] });
      if (!h) return;
      const { id } = await h.endpoint('/gateway');
      // Mid-second, so a date rounded to whole seconds from now would land 400 ms late.
      h.clock.advance(400);
      const start = h.clock.now();
      const retryAt = start - 400 + 100_000;
      h.receiver.respond('/gateway', {
        status: 502,
        headers: { 'retry-after': new Date(retryAt).toUTCString() },
      });
      await h.publish();
      await h.receiver.waitFor(1, { path: '/gateway' });
      // 502: base raised to 60 s; the date, 99.6 s away, is within [60 s, 120 s].
      expect((await attemptsOf(h, id, 1))[0]).toMatchObject({
        statusCode: 502,
        nextAttemptAt: retryAt,
      });
      h.clock.advance(retryAt - start);
      await h.receiver.waitFor(2, { path: '/gateway' });
      expect((await attemptsOf(h, id, 2))[0]).toMatchObject({ status: 'succeeded', attempt: 2 });
    });

    it('counts a reset connection and a redirect as failures and retries them', async () => {
      const h = await setup({ retrySchedule: [1_000, 1_000] });
      if (!h) return;
      const { id } = await h.endpoint('/odd');
      h.receiver.respond('/odd', 'reset', { status: 301, headers: { location: '/elsewhere' } });
      await h.publish();
      await h.receiver.waitFor(1, { path: '/odd' });
      await attemptsOf(h, id, 1);
      h.clock.advance(1_000);
      await attemptsOf(h, id, 2);
      h.clock.advance(1_000);
      const log = await attemptsOf(h, id, 3);
      expect(log.map((a) => [a.status, a.statusCode])).toEqual([
        ['succeeded', 204],
        ['failed', 301],
        ['failed', 0],
      ]);
      expect(log[1]!.error).toMatch(/redirects are not followed/);
      expect(h.receiver.received('/elsewhere')).toHaveLength(0);
    });

    it('fails at once, naming the header, and does not retry an endpoint saved earlier with a header value no request can carry', async () => {
      const h = await setup({ retrySchedule: [1_000, 1_000], endpointCacheMs: 0 });
      if (!h) return;
      const euro = await h.endpoint('/old-euro', { headers: { authorization: 'Bearer t' } });
      const latin1 = await h.endpoint('/old-latin1');
      // As an earlier version saved them, before values were held to visible ASCII: one undici
      // cannot send (past U+00FF), one it sends as Latin-1 bytes, as it always did.
      for (const [id, headers] of [
        [euro.id, { authorization: 'Bearer t', 'x-team': 'Zürich €' }],
        [latin1.id, { 'x-city': 'Zürich' }],
      ] as const) {
        const stored = (await h.store.getEndpoint('acme', id))!;
        expect(await h.store.saveEndpointSettings({ ...stored, headers })).toBe(true);
      }
      await h.publish();
      const [failed] = await attemptsOf(h, euro.id, 1);
      const error =
        'Not sent: the value of the endpoint\'s header "x-team" holds a character no HTTP request can carry (a control character, or one past U+00FF); edit the endpoint\'s headers, then recover its failed deliveries.';
      expect(failed).toMatchObject({ status: 'failed', statusCode: 0, error });
      expect(failed!.nextAttemptAt).toBeUndefined();
      const dead = await h.dispatcher.listFailedDeliveries('acme', { endpointId: euro.id });
      expect(dead.deliveries).toMatchObject([{ status: 'failed', attempts: 1, lastError: error }]);
      await h.receiver.waitFor(1, { path: '/old-latin1' });
      expect(
        Buffer.from(h.receiver.received('/old-latin1')[0]!.headers['x-city']!, 'latin1'),
      ).toEqual(Buffer.from('Zürich', 'latin1'));
      // Nothing more is tried; a test send says the same.
      h.clock.advance(1_000);
      h.clock.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await attemptsOf(h, euro.id, 1)).toHaveLength(1);
      expect(await h.dispatcher.sendTest('acme', euro.id)).toMatchObject({
        status: 'failed',
        error,
      });
      expect(h.receiver.received('/old-euro')).toHaveLength(0);
      expect(h.errors).toEqual([]);
      // Edited, the endpoint's dead letters are recovered as any others.
      await h.dispatcher.updateEndpoint('acme', euro.id, {
        headers: { authorization: 'Bearer t', 'x-team': 'Z%C3%BCrich %E2%82%AC' },
      });
      expect(
        await h.dispatcher.recover('acme', euro.id, { since: h.clock.now() - 10_000 }),
      ).toEqual({ queued: 1 });
      await h.receiver.waitFor(1, { path: '/old-euro' });
      expect(h.receiver.received('/old-euro')[0]!.headers['x-team']).toBe('Z%C3%BCrich %E2%82%AC');
    });

    it('puts exhausted deliveries on the dead-letter list; recover and resend deliver them', async () => {
      const h = await setup({ retrySchedule: [1_000] });
      if (!h) return;
      const {
        id,
        start,
        messages: [first],
      } = await deadLetters(h, 2);
      const failed = await h.dispatcher.listFailedDeliveries('acme', { endpointId: id });
      expect(failed.deliveries).toHaveLength(2);
      expect(failed.deliveries[0]).toMatchObject({
        status: 'failed',
        attempts: 2,
        lastStatusCode: 500,
      });
      expect(await h.dispatcher.listFailedDeliveries('other')).toEqual({
        deliveries: [],
        nextCursor: null,
      });

      h.receiver.setDefault('/down', { status: 200 });
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 2 });
      await attemptsOf(h, id, 6);
      expect((await h.dispatcher.listFailedDeliveries('acme')).deliveries).toHaveLength(0);
      const log = await attemptsOf(h, id, 6);
      expect(log.slice(0, 2).map((a) => [a.trigger, a.status])).toEqual([
        ['recover', 'succeeded'],
        ['recover', 'succeeded'],
      ]);

      const messageId = h.receiver.received('/down')[0]!.headers['webhook-id']!;
      await h.dispatcher.resend('acme', id, messageId);
      await attemptsOf(h, id, 7);
      const resent = h.receiver.received('/down').at(-1)!;
      expect(resent.headers['webhook-id']).toBe(messageId);
      expect(JSON.parse(resent.body).data.id).toBe(first!.id);
      await expect(h.dispatcher.resend('other', id, messageId)).rejects.toMatchObject({
        status: 404,
      });
      await expect(h.dispatcher.resend('acme', id, 'msg_unknown')).rejects.toMatchObject({
        status: 404,
      });
    });

    it('recovers each failed delivery once when recover is called again while it is under way', async () => {
      const h = await setup({ retrySchedule: [1_000] });
      if (!h) return;
      const { id, start } = await deadLetters(h, 2);
      // The endpoint is back but slow: the first recovery is queued or in flight when the
      // operator (or a retried API call) recovers again.
      h.receiver.setDefault('/down', { status: 200, delayMs: 200 });
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 2 });
      // Their recoveries are queued already: not queued again, nor counted.
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 0 });
      await attemptsOf(h, id, 6);
      // Whatever else was queued would have been sent by now, the requests being concurrent.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const sent = h.receiver.received('/down');
      expect(sent).toHaveLength(6);
      expect(new Set(sent.slice(4).map((request) => request.headers['webhook-id'])).size).toBe(2);
      // Delivered now: a later recover finds nothing to send.
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 0 });
    });

    it('counts and queues each dead letter once when two recover calls race', async () => {
      const h = await setup({ retrySchedule: [1_000] });
      if (!h) return;
      const { id, start } = await deadLetters(h, 2);
      h.receiver.setDefault('/down', { status: 200 });
      const calls = await Promise.all([
        h.dispatcher.recover('acme', id, { since: start }),
        h.dispatcher.recover('acme', id, { since: start }),
      ]);
      expect(calls[0]!.queued + calls[1]!.queued).toBe(2);
      await attemptsOf(h, id, 6);
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 0 });
    });

    it('sends a dead letter once when a recover that listed it queues it after another recovery of it failed', async () => {
      // The late call's list is held until the other call's recovery was sent and failed; its
      // jobs' attempts are then watched to their end (a send, or a slot given back unsent).
      let holdList: Promise<void> | undefined;
      let listed: () => void = () => {};
      const settled: string[] = [];
      const h = await setup({ retrySchedule: [1_000] }, (store) => ({
        ...store,
        listFailedDeliveries: async (tenantId, query) => {
          const page = await store.listFailedDeliveries(tenantId, query);
          const hold = holdList;
          holdList = undefined;
          if (hold) {
            listed();
            await hold;
          }
          return page;
        },
        recordAttempt: async (input) => {
          const result = await store.recordAttempt(input);
          if (input.releaseSlot !== undefined) settled.push(input.releaseSlot);
          return result;
        },
        releaseSlot: async (tenantId, endpointId, holder, messageId) => {
          await store.releaseSlot(tenantId, endpointId, holder, messageId);
          settled.push(holder);
        },
      }));
      if (!h) return;
      const { id, start } = await deadLetters(h);
      let release: () => void = () => {};
      holdList = new Promise<void>((resolve) => {
        release = resolve;
      });
      const isListed = new Promise<void>((resolve) => {
        listed = resolve;
      });
      const late = h.dispatcher.recover('acme', id, { since: start });
      await isListed;
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 1 });
      // Its recovery was sent, failed, and is recorded: the dead letter is one attempt older.
      await attemptsOf(h, id, 3);
      const recoveries = () => settled.filter((holder) => holder.includes('_recover')).length;
      await until(() => recoveries() === 1);
      release();
      expect(await late).toEqual({ queued: 0 });
      // Whatever the late call queued has run to its end: sent nothing.
      await until(() => recoveries() === 2);
      expect(h.receiver.received('/down')).toHaveLength(3);
      expect((await h.dispatcher.listAttempts('acme', id, { limit: 10 })).attempts).toHaveLength(3);
    });

    it('counts a dead letter again once its recovery was dropped because the endpoint was disabled', async () => {
      // Auto-disable, a 410 or an operator disables the endpoint while recoveries are queued:
      // they send nothing and the dead letters stay as they were. Enabled again, recovering them
      // queues and counts them again (their job ids are free).
      let gate: Promise<void> | undefined;
      let reached: () => void = () => {};
      let dropped = 0;
      const h = await setup({ retrySchedule: [1_000] }, (store) => ({
        ...store,
        beginAttempt: async (job, options) => {
          if (job.trigger !== 'recover') return store.beginAttempt(job, options);
          const held = gate;
          gate = undefined;
          if (held) {
            reached();
            await held;
          }
          const start = await store.beginAttempt(job, options);
          if (start.endpoint?.enabled === false) dropped += 1;
          return start;
        },
      }));
      if (!h) return;
      const { id, start } = await deadLetters(h);
      let release: () => void = () => {};
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const isReached = new Promise<void>((resolve) => {
        reached = resolve;
      });
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 1 });
      await isReached;
      await h.dispatcher.updateEndpoint('acme', id, { enabled: false });
      release();
      await until(() => dropped === 1);
      await h.dispatcher.updateEndpoint('acme', id, { enabled: true });
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 1 });
    });

    // When the endpoint is disabled during a recover call: after its claim; between its queueing
    // and its claim, the recovery dropped after the claim or before it; disabled and enabled again
    // before the claim, the recovery dropped in between. The call counts what it claimed while
    // its recovery could still send; either way, enabled again, the next recover queues, counts
    // and sends the dead letter, once.
    it.each([
      { disabled: 'after the claim', first: 1 },
      { disabled: 'before the claim, dropped after it', first: 1 },
      { disabled: 'before the claim, dropped before it', first: 0 },
      { disabled: 'and enabled before the claim, dropped in between', first: 0 },
    ])(
      'counts and sends a dead letter once more after a recover during which the endpoint was disabled $disabled',
      async ({ disabled, first }) => {
        // The recovery's start is held until released, so each order is made, not raced for.
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let dropped = 0;
        let beforeClaim = async () => {};
        const h = await setup({ retrySchedule: [1_000] }, (store) => ({
          ...store,
          beginAttempt: async (job, options) => {
            if (job.trigger !== 'recover') return store.beginAttempt(job, options);
            await held;
            const start = await store.beginAttempt(job, options);
            if (start.endpoint?.enabled === false) dropped += 1;
            return start;
          },
          claimRecoveries: async (...args) => {
            await beforeClaim();
            beforeClaim = async () => {};
            return store.claimRecoveries ? store.claimRecoveries(...args) : [];
          },
        }));
        if (!h) return;
        if (!h.store.claimRecoveries) return;
        const { id, start } = await deadLetters(h);
        const setEnabled = (enabled: boolean) =>
          h.dispatcher.updateEndpoint('acme', id, { enabled });
        const drop = async () => {
          release();
          await until(() => dropped === 1);
        };
        if (disabled === 'before the claim, dropped after it')
          beforeClaim = () => setEnabled(false).then(() => {});
        if (disabled === 'before the claim, dropped before it') {
          beforeClaim = async () => {
            await setEnabled(false);
            await drop();
          };
        }
        if (disabled === 'and enabled before the claim, dropped in between') {
          beforeClaim = async () => {
            await setEnabled(false);
            await drop();
            await setEnabled(true);
          };
        }
        expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: first });
        if (disabled === 'after the claim') await setEnabled(false);
        await drop();
        await setEnabled(true);
        expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 1 });
        // Sent by the second recovery alone (the first sent nothing), and recorded.
        await attemptsOf(h, id, 3);
        expect(h.receiver.received('/down')).toHaveLength(3);
      },
    );

    it('keeps a dead letter listed, resendable and recoverable for retentionMs after its event on its clock, then not', async () => {
      // A recovery queued within the retention is held until the clock is past it.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let ran = 0;
      const h = await setup({ retrySchedule: [1_000], retentionMs: 200_000 }, (store) => ({
        ...store,
        startWorker: (handler, options) =>
          store.startWorker(async (job) => {
            if (job.trigger !== 'recover') return handler(job);
            await held;
            const outcome = await handler(job);
            ran += 1;
            return outcome;
          }, options),
      }));
      if (!h) return;
      const { id, start } = await deadLetters(h);
      const listed = async () =>
        (await h.dispatcher.listFailedDeliveries('acme')).deliveries.map(
          (delivery) => delivery.messageId,
        );
      const [messageId] = await listed();
      h.clock.advance(199_000);
      expect(await listed()).toEqual([messageId]);
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 1 });
      // Past the retention on the dispatcher's clock (the Redis store's keys still live on
      // Redis's): gone, whatever the store keeps as a safety net; the recovery sends nothing.
      h.clock.advance(1);
      release();
      await until(() => ran === 1);
      expect(await listed()).toEqual([]);
      expect(
        (await h.dispatcher.listFailedDeliveries('acme', { endpointId: id })).deliveries,
      ).toEqual([]);
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 0 });
      await expect(h.dispatcher.resend('acme', id, messageId!)).rejects.toThrow(/No such message/);
      expect(h.receiver.received('/down')).toHaveLength(2);
    });

    it('sends each dead letter once when a recover that failed halfway is made again', async () => {
      // The first call queues part of its page, then the store fails; its recoveries are held
      // in flight (before they read their delivery) while the caller makes the call again.
      let failHalfway = false;
      let begun = 0;
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const h = await setup({ retrySchedule: [1_000] }, (store) => ({
        ...store,
        enqueue: async (jobs) => {
          if (!failHalfway || !jobs.some((job) => job.trigger === 'recover')) {
            return store.enqueue(jobs);
          }
          failHalfway = false;
          await store.enqueue(jobs.slice(0, 2));
          throw new Error('Connection is closed.');
        },
        beginAttempt: async (job, options) => {
          if (job.trigger === 'recover') {
            begun += 1;
            await held;
          }
          return store.beginAttempt(job, options);
        },
      }));
      if (!h) return;
      const { id, secret, start } = await deadLetters(h, 4);
      const messageIds = new Set(
        h.receiver.received('/down').map((request) => request.headers['webhook-id']),
      );
      expect(messageIds.size).toBe(4);
      h.receiver.setDefault('/down', { status: 200 });

      failHalfway = true;
      await expect(h.dispatcher.recover('acme', id, { since: start })).rejects.toThrow(/closed/);
      await until(() => begun === 2);
      // All four are still dead letters: the repeat lists them all, and the queue skips the two
      // the first call queued.
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 4 });
      await until(() => begun >= 4);
      release();
      await h.receiver.waitFor(12, { path: '/down' });
      await attemptsOf(h, id, 12);
      expect(await h.dispatcher.recover('acme', id, { since: start })).toEqual({ queued: 0 });
      expect(begun).toBe(4);
      const recovered = h.receiver.received('/down').slice(8);
      expect(new Set(recovered.map((request) => request.headers['webhook-id']))).toEqual(
        messageIds,
      );
      for (const request of recovered) {
        const sentAt = Number(request.headers['webhook-timestamp']) * 1000;
        expect(() => officialVerify(secret, request, sentAt)).not.toThrow();
      }
      expect(h.receiver.received('/down')).toHaveLength(12);
    });

    it('lets a resend of a delivery still being retried take the place of its next retry', async () => {
      const h = await setup({ retrySchedule: [60_000, 600_000, 600_000] });
      if (!h) return;
      const { id } = await h.endpoint('/flaky', { events: ['call.ended'] });
      await h.endpoint('/marker', { events: ['call.initiated'] });
      h.receiver.setDefault('/flaky', { status: 500 });
      const start = h.clock.now();
      await h.publish();
      await h.receiver.waitFor(1, { path: '/flaky' });
      expect((await attemptsOf(h, id, 1))[0]).toMatchObject({ nextAttemptAt: start + 60_000 });
      const messageId = h.receiver.received('/flaky')[0]!.headers['webhook-id']!;
      const markers = () => h.receiver.received('/marker').length;
      /** Lets the queue run what is due: a delivery to another endpoint arrives after it. */
      const settle = async () => {
        const count = markers();
        await h.publish({ type: 'call.initiated', status: 'queued' });
        await h.receiver.waitFor(count + 1, { path: '/marker' });
      };

      // Resent before the retry is due, and failing: the schedule goes on from the resend.
      h.clock.advance(30_000);
      await h.dispatcher.resend('acme', id, messageId);
      const [resent] = await attemptsOf(h, id, 2);
      expect(resent).toMatchObject({
        trigger: 'resend',
        attempt: 2,
        status: 'failed',
        nextAttemptAt: start + 30_000 + 600_000,
      });
      // The retry that was due at 60 s is not sent on top of the resend.
      h.clock.advance(30_000);
      await settle();
      expect(h.receiver.received('/flaky')).toHaveLength(2);
      h.clock.advance(600_000 - 30_000 - 1);
      await settle();
      expect(h.receiver.received('/flaky')).toHaveLength(2);
      h.clock.advance(1);
      await h.receiver.waitFor(3, { path: '/flaky' });
      expect((await attemptsOf(h, id, 3))[0]).toMatchObject({
        trigger: 'event',
        attempt: 3,
        nextAttemptAt: start + 630_000 + 600_000,
      });

      // Resent and succeeding: the retry still scheduled sends nothing.
      h.receiver.setDefault('/flaky', { status: 200 });
      await h.dispatcher.resend('acme', id, messageId);
      expect((await attemptsOf(h, id, 4))[0]).toMatchObject({
        trigger: 'resend',
        status: 'succeeded',
      });
      h.clock.advance(600_000);
      await settle();
      expect(h.receiver.received('/flaky')).toHaveLength(4);
      expect(await h.store.getDelivery('acme', id, messageId)).toMatchObject({
        status: 'succeeded',
        attempts: 4,
      });
      expect(markers()).toBe(3);
    });

    it('logs the attempt a resend makes of a delivery never attempted as the resend, with its retries', async () => {
      const h = await setup({ retrySchedule: [60_000] });
      if (!h) return;
      const { id, secret } = await h.endpoint('/never');
      const start = h.clock.now();
      // Created and never attempted: the process that created it died before its first attempt
      // and before queueing it.
      const message: WebhookMessage = {
        id: 'msg_neverattempted',
        tenantId: 'acme',
        eventId: 'evt-never-attempted',
        eventType: 'call.ended',
        body: JSON.stringify({ type: 'call.ended', timestamp: new Date(start).toISOString() }),
        createdAt: start,
      };
      await h.store.createDeliveries(message, [id], 86_400_000);
      h.receiver.respond('/never', { status: 500 });
      await h.dispatcher.resend('acme', id, message.id);
      const [resent] = await attemptsOf(h, id, 1);
      expect(resent).toMatchObject({
        trigger: 'resend',
        attempt: 1,
        status: 'failed',
        nextAttemptAt: start + 60_000,
      });
      const [request] = h.receiver.received('/never');
      expect(request!.headers['webhook-id']).toBe(message.id);
      expect(() => officialVerify(secret, request!, start)).not.toThrow();
      // Its retries are the delivery's own, on schedule.
      h.clock.advance(60_000);
      const log = await attemptsOf(h, id, 2);
      expect(log.map((row) => [row.trigger, row.attempt, row.status])).toEqual([
        ['event', 2, 'succeeded'],
        ['resend', 1, 'failed'],
      ]);
      // A message the endpoint never had: the attempt is the resend's too.
      const { id: late } = await h.endpoint('/late');
      await h.dispatcher.resend('acme', late, message.id);
      expect(await attemptsOf(h, late, 1)).toMatchObject([
        { trigger: 'resend', attempt: 1, status: 'succeeded' },
      ]);
      expect(h.receiver.received('/never')).toHaveLength(2);
      expect(h.receiver.received('/late')).toHaveLength(1);
    });

    /**
     * A store whose waits (a held delivery, a full endpoint) are answered as `pollMs` long, so
     * that a job deferred on one runs again before then only if a release wakes it; `begun` lists
     * every job's begin and what the store answered (the wait as it was).
     */
    const recordingBegins =
      (begun: { job: string; trigger: string; start: AttemptStart }[], pollMs?: number) =>
      (store: WebhookStore): WebhookStore => ({
        ...store,
        beginAttempt: async (job, options) => {
          const start = await store.beginAttempt(job, options);
          begun.push({ job: job.id, trigger: job.trigger, start });
          return pollMs !== undefined && (start.slotWait ?? 0) > 0
            ? { ...start, slotWait: pollMs }
            : start;
        },
      });

    /**
     * A dispatcher whose endpoint answers only when told, with a resend issued while the
     * delivery's direct first attempt is in flight; `begun` lists every job's begin and what the
     * store answered.
     */
    const resendDuringDirectAttempt = async (pollMs?: number) => {
      const begun: { job: string; trigger: string; start: AttemptStart }[] = [];
      const h = await setup(
        { retrySchedule: [60_000], timeoutMs: 10_000 },
        recordingBegins(begun, pollMs),
      );
      if (!h) return undefined;
      const receiver: HoldingReceiver = await startHoldingReceiver();
      // Closed first (cleanups run in reverse): a request it still holds ends now.
      cleanups.push(() => receiver.close());
      const { endpoint, secret } = await h.dispatcher.createEndpoint('acme', {
        url: `${receiver.url}/held`,
      });
      const start = h.clock.now();
      await h.publish();
      await receiver.waitFor(1);
      const messageId = receiver.requests[0]!.headers['webhook-id']!;
      const direct = begun[0]!.job;
      expect(begun).toHaveLength(1);
      await h.dispatcher.resend('acme', endpoint.id, messageId);
      // Either a second request reaches the endpoint while the first is held (sent twice at
      // once), or the resend's jobs find the attempt in flight and wait for it.
      let stop = false;
      const waiting = new Promise<void>((resolve) => {
        const check = (): void => {
          if (stop || begun.some((e) => e.job !== direct && (e.start.slotWait ?? 0) > 0)) resolve();
          else setTimeout(check, 5);
        };
        check();
      });
      await Promise.race([receiver.waitFor(2), waiting]).finally(() => {
        stop = true;
      });
      expect(receiver.requests).toHaveLength(1);
      return { h, begun, receiver, endpointId: endpoint.id, secret, messageId, start };
    };

    it('sends a delivery once at a time: a resend during its direct first attempt waits, and its success answers the resend', async () => {
      const run = await resendDuringDirectAttempt();
      if (!run) return;
      const { h, begun, receiver, endpointId, messageId } = run;
      receiver.answer(0, 200);
      // The resend's job runs again once the attempt is recorded, and finds nothing to send.
      await until(() =>
        begun.some((entry) => entry.trigger === 'resend' && entry.start.slotWait === undefined),
      );
      expect(await h.store.getDelivery('acme', endpointId, messageId)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
      });
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.mostOpen()).toBe(1);
      expect(await attemptsOf(h, endpointId, 1)).toMatchObject([
        { trigger: 'event', attempt: 1, status: 'succeeded' },
      ]);
    });

    it('sends a delivery once at a time: a resend during its direct first attempt that fails goes right after it', async () => {
      const run = await resendDuringDirectAttempt();
      if (!run) return;
      const { h, receiver, endpointId, secret, messageId, start } = run;
      receiver.answer(0, 500);
      // Not at the retry's time (60 s on the clock, which stands still): the resend, now.
      await receiver.waitFor(2);
      receiver.answer(1, 200);
      const log = await attemptsOf(h, endpointId, 2);
      expect(log.map((row) => [row.trigger, row.attempt, row.status])).toEqual([
        ['resend', 2, 'succeeded'],
        ['event', 1, 'failed'],
      ]);
      expect(receiver.mostOpen()).toBe(1);
      for (const request of receiver.requests) {
        expect(request.headers['webhook-id']).toBe(messageId);
        expect(() => officialVerify(secret, request, start)).not.toThrow();
      }
      // Delivered: what is left of either job finds nothing to send.
      expect(await h.store.getDelivery('acme', endpointId, messageId)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
      });
      expect(receiver.requests).toHaveLength(2);
    });

    // The jobs waiting for the attempt in flight are deferred for a minute here: they run before
    // then only because its end, in this process, wakes them.
    it('wakes the jobs waiting for an attempt in flight when it ends, not at their next poll', async () => {
      const run = await resendDuringDirectAttempt(60_000);
      if (!run) return;
      const { h, begun, receiver, endpointId, messageId } = run;
      const direct = begun[0]!.job;
      receiver.answer(0, 500);
      await receiver.waitFor(2);
      receiver.answer(1, 200);
      expect((await attemptsOf(h, endpointId, 2)).map((row) => [row.trigger, row.status])).toEqual([
        ['resend', 'succeeded'],
        ['event', 'failed'],
      ]);
      // What is left of the other job finds the delivery delivered, woken by that attempt's end.
      const waited = [
        ...new Set(begun.filter((e) => (e.start.slotWait ?? 0) > 0).map((e) => e.job)),
      ];
      expect(waited.length).toBeGreaterThan(0);
      expect(waited).not.toContain(direct);
      await until(() =>
        waited.every((job) => {
          const last = begun.filter((e) => e.job === job).at(-1);
          return last !== undefined && !((last.start.slotWait ?? 0) > 0);
        }),
      );
      // Two attempts, so at most two releases each waiting job can have been woken by.
      for (const job of waited) {
        expect(
          begun.filter((e) => e.job === job && (e.start.slotWait ?? 0) > 0).length,
        ).toBeLessThanOrEqual(2);
      }
      expect(await h.store.getDelivery('acme', endpointId, messageId)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
      });
      expect(receiver.requests).toHaveLength(2);
      expect(receiver.mostOpen()).toBe(1);
    });

    it('wakes a job waiting for a slot of a full endpoint when one frees up, not at its next poll', async () => {
      const begun: { job: string; trigger: string; start: AttemptStart }[] = [];
      const h = await setup({ timeoutMs: 10_000 }, recordingBegins(begun, 60_000));
      if (!h) return;
      const receiver = await startHoldingReceiver();
      cleanups.push(() => receiver.close());
      const { endpoint } = await h.dispatcher.createEndpoint('acme', {
        url: `${receiver.url}/one-at-a-time`,
        maxConcurrency: 1,
      });
      await h.publish();
      await receiver.waitFor(1);
      await h.publish();
      // The second delivery finds the endpoint's one slot taken; its job waits (a minute here).
      await until(() =>
        begun.some((e) => !e.job.endsWith('_direct') && (e.start.slotWait ?? 0) > 0),
      );
      const queued = begun.find((e) => !e.job.endsWith('_direct') && (e.start.slotWait ?? 0) > 0)!;
      expect(receiver.requests).toHaveLength(1);
      receiver.answer(0, 200);
      await receiver.waitFor(2);
      receiver.answer(1, 200);
      const log = await attemptsOf(h, endpoint.id, 2);
      expect(log.map((row) => row.status)).toEqual(['succeeded', 'succeeded']);
      expect(new Set(log.map((row) => row.messageId)).size).toBe(2);
      // Answered one wait, then sent: woken once, by the first request's end.
      expect(begun.filter((e) => e.job === queued.job).map((e) => e.start.slotWait)).toEqual([
        queued.start.slotWait,
        0,
      ]);
      expect(receiver.mostOpen()).toBe(1);
    });

    // A freed slot wakes one waiter; when that one finds nothing to send, the slot goes to the
    // next waiter at once, not at its next poll (a minute here).
    it('passes a freed slot on when the job it woke has nothing to send', async () => {
      const begun: { job: string; trigger: string; start: AttemptStart }[] = [];
      const h = await setup({ timeoutMs: 10_000 }, recordingBegins(begun, 60_000));
      if (!h) return;
      const receiver = await startHoldingReceiver();
      cleanups.push(() => receiver.close());
      const { endpoint } = await h.dispatcher.createEndpoint('acme', {
        url: `${receiver.url}/one-at-a-time`,
        maxConcurrency: 1,
      });
      /** The queued jobs answered a wait, in the order they first were. */
      const waited = () => [
        ...new Set(
          begun
            .filter((e) => !e.job.endsWith('_direct') && (e.start.slotWait ?? 0) > 0)
            .map((e) => e.job),
        ),
      ];
      await h.publish();
      await receiver.waitFor(1);
      // Three jobs wait for the endpoint's one slot, in this order: the second delivery's, a
      // resend of it (the delivery's job will serve it, leaving the resend's with nothing to
      // send), the third delivery's.
      await h.publish();
      await until(() => waited().length === 1);
      const [second] = waited();
      const messageId = begun.find((e) => e.job === second)!.start.message!.id;
      await h.dispatcher.resend('acme', endpoint.id, messageId);
      await until(() => waited().length === 2);
      await h.publish();
      await until(() => waited().length === 3);
      const [, resend, third] = waited();
      expect(begun.find((e) => e.job === resend)!.trigger).toBe('resend');
      receiver.answer(0, 200);
      await receiver.waitFor(2);
      expect(receiver.requests[1]!.headers['webhook-id']).toBe(messageId);
      receiver.answer(1, 200);
      await receiver.waitFor(3);
      receiver.answer(2, 200);
      const log = await attemptsOf(h, endpoint.id, 3);
      expect(log.map((row) => [row.trigger, row.status])).toEqual([
        ['event', 'succeeded'],
        ['resend', 'succeeded'],
        ['event', 'succeeded'],
      ]);
      // The resend's job, woken by the second request's end, found its resend served; the third
      // delivery's, woken in its place, sent.
      const answers = (job: string | undefined) =>
        begun.filter((e) => e.job === job).map((e) => (e.start.slotWait ?? 0) > 0);
      expect(answers(resend)).toEqual([true, false]);
      expect(answers(third)).toEqual([true, false]);
      expect(begun.filter((e) => e.job === third).at(-1)!.start.slotWait).toBe(0);
      expect(receiver.mostOpen()).toBe(1);
    });

    it('drops a resend whose endpoint is disabled before it is served: the retry after re-enabling is logged as the event', async () => {
      const run = await resendDuringDirectAttempt();
      if (!run) return;
      const { h, begun, receiver, endpointId, messageId } = run;
      await h.dispatcher.updateEndpoint('acme', endpointId, { enabled: false });
      receiver.answer(0, 500);
      // The jobs that waited find the endpoint disabled: nothing is sent, the resend is dropped.
      await until(() =>
        begun.some((e) => e.trigger === 'resend' && e.start.endpoint?.enabled === false),
      );
      await h.dispatcher.updateEndpoint('acme', endpointId, { enabled: true });
      // The delivery's own retry, at its time, is the event's.
      h.clock.advance(60_000);
      await receiver.waitFor(2);
      receiver.answer(1, 200);
      const log = await attemptsOf(h, endpointId, 2);
      expect(log.map((row) => [row.trigger, row.attempt, row.status])).toEqual([
        ['event', 2, 'succeeded'],
        ['event', 1, 'failed'],
      ]);
      expect(await h.store.getDelivery('acme', endpointId, messageId)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
      });
    });

    it('disables an endpoint that answers 410, once, and says so on the bus', async () => {
      const h = await setup();
      if (!h) return;
      const { id } = await h.endpoint('/gone');
      h.receiver.setDefault('/gone', { status: 410 });
      await h.publish();
      await attemptsOf(h, id, 1);
      const endpoint = await h.dispatcher.getEndpoint('acme', id);
      expect(endpoint).toMatchObject({ enabled: false, disabled: { reason: 'gone' } });
      expect(
        h.published.map((e) => [e.type, e.tenantId, e.data.endpointId, e.data.reason]),
      ).toEqual([['webhook.endpoint_disabled', 'acme', id, 'gone']]);
      expect((await h.dispatcher.listFailedDeliveries('acme')).deliveries).toHaveLength(1);
      await h.publish();
      expect(h.receiver.received('/gone')).toHaveLength(1);
      await expect(
        h.dispatcher.recover('acme', id, { since: h.clock.now() - 1000 }),
      ).rejects.toMatchObject({ status: 409 });
      // Enabling it again restarts deliveries.
      h.receiver.setDefault('/gone', { status: 204 });
      await h.dispatcher.updateEndpoint('acme', id, { enabled: true });
      await h.publish();
      await h.receiver.waitFor(2, { path: '/gone' });
    });

    it('auto-disables only after failing continuously for the window, not after one bad message', async () => {
      const h = await setup({
        retrySchedule: [60_000, 60_000],
        autoDisable: { afterMs: 600_000, minFailures: 3 },
      });
      if (!h) return;
      const { id } = await h.endpoint('/sick');
      h.receiver.setDefault('/sick', { status: 500 });
      // One bad message exhausts its retries within two minutes: the endpoint stays enabled.
      await h.publish();
      await attemptsOf(h, id, 1);
      h.clock.advance(60_000);
      await attemptsOf(h, id, 2);
      h.clock.advance(60_000);
      await attemptsOf(h, id, 3);
      expect(await h.dispatcher.getEndpoint('acme', id)).toMatchObject({ enabled: true });
      // A success resets the failure clock.
      h.receiver.respond('/sick', { status: 200 });
      await h.publish();
      await attemptsOf(h, id, 4);
      expect((await h.dispatcher.getEndpoint('acme', id)).failingSince).toBeUndefined();
      // Failing from now on (T): disabled at the first failure once 10 minutes have passed.
      await h.publish(); // attempt 5 at T
      await attemptsOf(h, id, 5);
      h.clock.advance(300_000); // its retry: attempt 6 at T + 5 min
      await attemptsOf(h, id, 6);
      await h.publish(); // attempt 7 at T + 5 min
      await attemptsOf(h, id, 7);
      expect(await h.dispatcher.getEndpoint('acme', id)).toMatchObject({ enabled: true });
      // Both due retries (5's last, 7's first) at T + 9 min: still inside the window. They are
      // due together, so neither may be the one that disables (the other would not be sent).
      h.clock.advance(240_000); // attempts 8 and 9
      await attemptsOf(h, id, 9);
      expect(await h.dispatcher.getEndpoint('acme', id)).toMatchObject({ enabled: true });
      h.clock.advance(60_000); // 7's last retry: attempt 10 at T + 10 min disables
      await attemptsOf(h, id, 10);
      const disabled = await h.dispatcher.getEndpoint('acme', id);
      expect(disabled).toMatchObject({ enabled: false, disabled: { reason: 'failing' } });
      expect(disabled.disabled!.message).toMatch(/HTTP 500/);
      expect(h.published.filter((e) => e.type === 'webhook.endpoint_disabled')).toHaveLength(1);
      await h.publish();
      expect(h.receiver.received('/sick')).toHaveLength(10);
    });

    it('keeps a slow endpoint to its concurrency cap so the others are not starved', async () => {
      const h = await setup({ concurrency: 4, timeoutMs: 5_000 });
      if (!h) return;
      await h.endpoint('/slow', { maxConcurrency: 2, events: ['call.ringing'] });
      await h.endpoint('/fast', { events: ['call.ended'] });
      h.receiver.setDefault('/slow', 'hang');
      for (let index = 0; index < 10; index += 1)
        await h.publish({ type: 'call.ringing', status: 'ringing' });
      await h.receiver.waitFor(2, { path: '/slow' });
      for (let index = 0; index < 6; index += 1) await h.publish();
      await h.receiver.waitFor(6, { path: '/fast' });
      expect(h.receiver.received('/slow')).toHaveLength(2);
    });

    it('never has more requests in flight than its concurrency, however many jobs it runs', async () => {
      const h = await setup({ concurrency: 2, timeoutMs: 1_000 });
      if (!h) return;
      await h.endpoint('/hanging', { maxConcurrency: 10 });
      h.receiver.setDefault('/hanging', 'hang');
      for (let index = 0; index < 6; index += 1) await h.publish();
      await h.receiver.waitFor(2, { path: '/hanging' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(h.receiver.received('/hanging')).toHaveLength(2);
    });

    it('holds a per-endpoint rate limit on the clock', async () => {
      const h = await setup();
      if (!h) return;
      await h.endpoint('/limited', { rateLimitPerSecond: 2 });
      for (let index = 0; index < 4; index += 1) await h.publish();
      await h.receiver.waitFor(2, { path: '/limited' });
      expect(h.receiver.received('/limited')).toHaveLength(2);
      h.clock.advance(500);
      await h.receiver.waitFor(3, { path: '/limited' });
      h.clock.advance(500);
      await h.receiver.waitFor(4, { path: '/limited' });
    });

    // A rate any positive number may set, however small: its waits run past what setTimeout
    // holds (the memory store then ran the job every millisecond) and past what a Redis integer
    // reply holds (the Redis store then read a negative wait and sent at once).
    it('holds a rate limit far below one a day: the next delivery waits, and is not run over and over', async () => {
      const h = await setup();
      if (!h) return;
      let rateChecks = 0;
      const takeRateToken = h.store.takeRateToken.bind(h.store);
      h.store.takeRateToken = async (...args) => {
        rateChecks += 1;
        return takeRateToken(...args);
      };
      for (const rateLimitPerSecond of [1e-7, 1e-17]) {
        const path = `/rare-${rateLimitPerSecond}`;
        await h.endpoint(path, { rateLimitPerSecond, events: ['call.ended'] });
      }
      for (let index = 0; index < 2; index += 1) await h.publish();
      await h.receiver.waitFor(1, { path: '/rare-1e-7' });
      await h.receiver.waitFor(1, { path: '/rare-1e-17' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(h.receiver.received('/rare-1e-7')).toHaveLength(1);
      expect(h.receiver.received('/rare-1e-17')).toHaveLength(1);
      // Two first attempts and one queued run per endpoint, give or take a wake-up.
      expect(rateChecks).toBeLessThan(20);
    });

    it('signs with both secrets during a rotation grace period, then with the new one only', async () => {
      const h = await setup();
      if (!h) return;
      const { id, secret: oldSecret } = await h.endpoint('/rotating');
      const { secret: newSecret } = await h.dispatcher.rotateSecret('acme', id, {
        gracePeriodMs: 3_600_000,
      });
      expect(newSecret).not.toBe(oldSecret);
      await h.publish();
      const [during] = await h.receiver.waitFor(1, { path: '/rotating' });
      expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
      for (const secret of [oldSecret, newSecret]) {
        expect(() => new Webhook(secret).verify(during!.body, during!.headers)).not.toThrow();
      }
      h.clock.advance(3_600_000);
      await h.publish();
      const after = (await h.receiver.waitFor(2, { path: '/rotating' }))[1]!;
      expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
      expect(() => officialVerify(newSecret, after, h.clock.now())).not.toThrow();
      expect(() => officialVerify(oldSecret, after, h.clock.now())).toThrow(/signature/i);
      // Never shown again after creation and rotation.
      expect(JSON.stringify(await h.dispatcher.listEndpoints('acme'))).not.toContain(
        newSecret.slice(6),
      );
    });

    it('never lets an update undo a rotation that raced it, nor the rotation the update', async () => {
      const h = await setup();
      if (!h) return;
      const { id } = await h.endpoint('/racing');
      for (let round = 0; round < 5; round += 1) {
        const description = `CRM ${round}`;
        const [rotated] = await Promise.all([
          h.dispatcher.rotateSecret('acme', id, { gracePeriodMs: 0 }),
          h.dispatcher.updateEndpoint('acme', id, { description }),
        ]);
        const stored = await h.store.getEndpoint('acme', id);
        // The secret just handed out signs what follows, and the update's change is there too.
        expect(stored!.secrets[0]!.secret).toBe(rotated.secret);
        expect(stored!.description).toBe(description);
      }
    });

    it('sends a test message, logs it, and leaves it out of the stats', async () => {
      const h = await setup();
      if (!h) return;
      const { id, secret } = await h.endpoint('/t');
      const attempt = await h.dispatcher.sendTest('acme', id);
      expect(attempt).toMatchObject({
        trigger: 'test',
        status: 'succeeded',
        statusCode: 204,
        eventType: 'webhook.test',
      });
      const [request] = h.receiver.received('/t');
      expect(
        (new Webhook(secret).verify(request!.body, request!.headers) as WebhookPayload).type,
      ).toBe('webhook.test');
      h.receiver.respond('/t', { status: 500 });
      await h.publish();
      await h.publish();
      const log = await attemptsOf(h, id, 3);
      expect(log.map((a) => a.trigger).sort()).toEqual(['event', 'event', 'test']);
      const stats = await h.dispatcher.getStats('acme', id);
      expect(stats).toMatchObject({ attempts: 2, succeeded: 1, failed: 1, successRate: 0.5 });
      expect(stats.lastError).toMatchObject({ statusCode: 500, message: 'HTTP 500' });
      expect(stats.latencyMs!.p95).toBeGreaterThanOrEqual(stats.latencyMs!.p50);
    });

    it("holds test sends to the endpoint's rate and concurrency limits: 429 with Retry-After", async () => {
      const h = await setup();
      if (!h) return;
      const { id } = await h.endpoint('/limited-tests', {
        rateLimitPerSecond: 1,
        maxConcurrency: 1,
      });
      h.receiver.setDefault('/limited-tests', { status: 204, delayMs: 100 });
      const sends = await Promise.allSettled(
        Array.from({ length: 10 }, () => h.dispatcher.sendTest('acme', id)),
      );
      expect(sends.filter((send) => send.status === 'fulfilled')).toHaveLength(1);
      for (const send of sends) {
        if (send.status === 'fulfilled') continue;
        expect(send.reason).toMatchObject({ status: 429, code: 'rate_limited' });
        expect(send.reason.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      }
      expect(h.receiver.received('/limited-tests')).toHaveLength(1);
      // Within the second the rate limit still holds; a second later a test goes out.
      await expect(h.dispatcher.sendTest('acme', id)).rejects.toMatchObject({
        status: 429,
        retryAfterSeconds: 1,
      });
      h.clock.advance(1000);
      expect(await h.dispatcher.sendTest('acme', id)).toMatchObject({ status: 'succeeded' });

      // A delivery in flight holds the endpoint's only slot: a test send does not overtake it.
      const { id: busy } = await h.endpoint('/busy-tests', { maxConcurrency: 1 });
      h.receiver.respond('/busy-tests', { status: 204, delayMs: 300 });
      await h.publish();
      await h.receiver.waitFor(1, { path: '/busy-tests' });
      await expect(h.dispatcher.sendTest('acme', busy)).rejects.toMatchObject({ status: 429 });
      await attemptsOf(h, busy, 1);
      expect(await h.dispatcher.sendTest('acme', busy)).toMatchObject({ status: 'succeeded' });
      expect(h.receiver.received('/busy-tests')).toHaveLength(2);
    });

    it("limits a tenant's test sends across its endpoints: 429 with Retry-After, other tenants unaffected", async () => {
      const h = await setup({ testSendsPerMinute: 3 });
      if (!h) return;
      const { id: first } = await h.endpoint('/tests-a');
      const { id: second } = await h.endpoint('/tests-b');
      const { endpoint: others } = await h.dispatcher.createEndpoint('other', {
        url: `${h.receiver.url}/tests-other`,
      });
      // A minute's worth at once, on any of the tenant's endpoints.
      for (const id of [first, second, first]) {
        expect(await h.dispatcher.sendTest('acme', id)).toMatchObject({ status: 'succeeded' });
      }
      const refused = await h.dispatcher.sendTest('acme', second).catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 20 });
      expect((refused as Error).message).toMatch(/test sends/);
      expect(await h.dispatcher.sendTest('other', others.id)).toMatchObject({
        status: 'succeeded',
      });
      h.clock.advance(20_000);
      expect(await h.dispatcher.sendTest('acme', second)).toMatchObject({ status: 'succeeded' });
      await expect(h.dispatcher.sendTest('acme', first)).rejects.toMatchObject({ status: 429 });
      expect(h.receiver.received('/tests-a')).toHaveLength(2);
      expect(h.receiver.received('/tests-b')).toHaveLength(2);
    });

    it("keeps an endpoint's last 100 test sends in its log, and every delivery", async () => {
      const h = await setup({ testSendsPerMinute: 1000 });
      if (!h) return;
      const { id } = await h.endpoint('/tested');
      await h.publish();
      await attemptsOf(h, id, 1);
      for (let index = 0; index < 105; index += 1) {
        expect(await h.dispatcher.sendTest('acme', id)).toMatchObject({ status: 'succeeded' });
      }
      const log = await attemptsOf(h, id, 101);
      expect(log.filter((row) => row.trigger === 'test')).toHaveLength(100);
      expect(log.filter((row) => row.trigger === 'event')).toHaveLength(1);
    });

    it('keeps a short excerpt of a response body (2,048 bytes by default)', async () => {
      const h = await setup();
      if (!h) return;
      const { id } = await h.endpoint('/verbose');
      h.receiver.setDefault('/verbose', { status: 500, body: 'x'.repeat(20_000) });
      const attempt = await h.dispatcher.sendTest('acme', id);
      expect(attempt.responseBody).toBe('x'.repeat(2048));
      const [logged] = await attemptsOf(h, id, 1);
      expect(logged!.responseBody).toHaveLength(2048);
    });

    it('backs off a job whose store write keeps failing, and reports it once', async () => {
      const recordedAt: number[] = [];
      const h = await setup({ retrySchedule: [60_000] }, (store) => ({
        ...store,
        recordAttempt: async () => {
          recordedAt.push(Date.now());
          throw new Error('store write failed');
        },
      }));
      if (!h) return;
      await h.endpoint('/sent-again');
      await h.publish();
      // The direct attempt, then the queued job's runs: 1 s, then 2 s apart (at least).
      await until(() => recordedAt.length >= 4, 10_000);
      const gaps = recordedAt.slice(2).map((at, index) => at - recordedAt[index + 1]!);
      expect(gaps[0]).toBeGreaterThanOrEqual(950);
      expect(gaps[1]).toBeGreaterThanOrEqual(1950);
      const reports = h.errors.filter((error) => /store write failed/.test(error.message));
      // The direct attempt's failure (fan-out), then the worker's incident, once.
      expect(reports.length).toBeLessThanOrEqual(2);
      expect(
        h.errors.some((error) => /delivery job/.test(error.message) && /again/.test(error.message)),
      ).toBe(true);
    });

    it('pages a status-filtered log to every matching row, each once, whatever the page size', async () => {
      const h = await setup();
      if (!h) return;
      const { id } = await h.endpoint('/mixed');
      const at = h.clock.now() - 3_600_000;
      // 1,300 rows, three to a millisecond: 60 failed among the oldest 150, none in the 1,050
      // after them (a filtered page reads 1,000 rows at most), one in seven of the newest 100.
      const failedRow = (index: number) =>
        index < 150 ? index % 5 < 2 : index >= 1200 && index % 7 === 0;
      for (let first = 0; first < 1300; first += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, offset) => {
            const index = first + offset;
            const failed = failedRow(index);
            return h.store.recordAttempt({
              attempt: {
                id: `att_mixed${String(index).padStart(4, '0')}`,
                tenantId: 'acme',
                endpointId: id,
                messageId: `msg_mixed${index}`,
                eventType: 'call.ended',
                url: `${h.receiver.url}/mixed`,
                attempt: 1,
                trigger: 'event',
                status: failed ? 'failed' : 'succeeded',
                statusCode: failed ? 500 : 200,
                durationMs: 1,
                responseBody: '',
                ...(failed ? { error: 'HTTP 500' } : {}),
                startedAt: at + Math.floor(index / 3),
              },
              retentionMs: 86_400_000,
              maxAttemptsPerEndpoint: 10_000,
              now: at + Math.floor(index / 3),
            });
          }),
        );
      }
      const pageThrough = async (query: { status?: 'failed'; limit: number }) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 200; pages += 1) {
          const page = await h.dispatcher.listAttempts('acme', id, {
            ...query,
            ...(cursor === undefined ? {} : { cursor }),
          });
          ids.push(...page.attempts.map((attempt) => attempt.id));
          // A full page always says where the next one starts.
          if (page.attempts.length === query.limit) expect(page.nextCursor).not.toBeNull();
          if (page.nextCursor === null) return ids;
          cursor = page.nextCursor;
        }
        throw new Error('the log did not end');
      };
      const everyRow = await pageThrough({ limit: 1000 });
      expect(new Set(everyRow).size).toBe(1300);
      const failed = everyRow.filter((rowId) => failedRow(Number(rowId.slice('att_mixed'.length))));
      expect(failed).toHaveLength(74);
      for (const limit of [1, 2, 10, 50, 60, 1000]) {
        expect(await pageThrough({ status: 'failed', limit })).toEqual(failed);
      }
    });

    it('keeps tenants apart and holds the endpoint quota', async () => {
      const h = await setup({ maxEndpointsPerTenant: 2 });
      if (!h) return;
      const { id } = await h.endpoint('/a');
      await expect(h.dispatcher.getEndpoint('other', id)).rejects.toMatchObject({ status: 404 });
      await expect(
        h.dispatcher.updateEndpoint('other', id, { description: 'x' }),
      ).rejects.toMatchObject({ status: 404 });
      await expect(h.dispatcher.deleteEndpoint('other', id)).rejects.toMatchObject({ status: 404 });
      await expect(h.dispatcher.sendTest('other', id)).rejects.toMatchObject({ status: 404 });
      expect(await h.dispatcher.listEndpoints('other')).toEqual([]);
      const racing = await Promise.allSettled([
        h.endpoint('/b'),
        h.endpoint('/c'),
        h.endpoint('/d'),
      ]);
      expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(racing.find((r) => r.status === 'rejected')).toMatchObject({
        reason: { status: 409 },
      });
      expect(await h.dispatcher.listEndpoints('acme')).toHaveLength(2);
    });

    it('keeps bodies under the size limit by omitting the largest data fields', async () => {
      const h = await setup({ maxPayloadBytes: 5_000 });
      if (!h) return;
      await h.endpoint('/big');
      await h.publish({
        type: 'call.transcript',
        data: { transcript: 'word '.repeat(5_000), answeredBy: 'human' },
      });
      const [request] = await h.receiver.waitFor(1, { path: '/big' });
      expect(Buffer.byteLength(request!.body)).toBeLessThanOrEqual(5_000);
      expect(JSON.parse(request!.body).data).toMatchObject({
        omitted: ['data.transcript'],
        data: { answeredBy: 'human' },
      });
    });
  });
}
