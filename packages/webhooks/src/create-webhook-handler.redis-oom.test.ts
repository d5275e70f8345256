// The management API on the Redis store while Redis refuses writes (out of memory, as a full
// production Redis with `noeviction` does): an outage answered 503 with Retry-After (the caller
// retries), and what `onError` is told must not carry the refused command's arguments, which
// hold the endpoint's secrets and custom header values.
import { createServer } from 'node:http';
import { inspect } from 'node:util';
import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  makeCallEvent,
  type OwnRedisServer,
  refuseRedisWrites,
  serveForTest,
  startOwnRedisServer,
  stopOwnRedisServer,
  stopTestServers,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import { createWebhookHandler } from './create-webhook-handler';

// Each test fills a redis-server of its own.
const owned: OwnRedisServer[] = [];
afterAll(async () => {
  await stopTestServers();
  for (const own of owned) await stopOwnRedisServer(own);
});

async function startServer(): Promise<OwnRedisServer> {
  const own = await startOwnRedisServer();
  owned.push(own);
  return own;
}

describe('the webhooks management API while Redis refuses writes', () => {
  it('answers 503 with Retry-After and reports the refusals without the secrets or header values in them', async () => {
    const { server, admin } = await startServer();
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    const store = createRedisWebhookStore({ redis, prefix: 'oom:webhooks' });
    const dispatcher = createWebhookDispatcher({
      bus: createMemoryBus(),
      store,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
    });
    const failures: Error[] = [];
    const http = await serveForTest(
      createServer(
        toNodeHandler(
          createWebhookHandler({
            dispatcher,
            authenticate: () => ({ tenantId: 'acme' }),
            onError: (error) => failures.push(error),
          }),
        ),
      ),
    );
    const send = (method: string, path: string, body: unknown) =>
      fetch(`${http.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    try {
      const created = await send('POST', '/webhooks', {
        url: 'http://127.0.0.1:9/hooks',
        headers: { authorization: 'Bearer first-private-token' },
      });
      expect(created.status).toBe(201);
      const { endpoint, secret } = (await created.json()) as {
        endpoint: { id: string };
        secret: string;
      };
      expect(secret).toMatch(/^whsec_/);

      // A delivery of a message to resend, made before Redis filled up.
      const message = {
        id: 'msg_resendme',
        tenantId: 'acme',
        eventId: 'evt-1',
        eventType: 'call.ended',
        body: '{"from":"+14155550123"}',
        createdAt: Date.now(),
      };
      await store.createDeliveries(message, [endpoint.id], 60_000);

      await refuseRedisWrites(admin);
      // Redis refusing writes is an outage, not a bug: 503 with Retry-After, the caller retries.
      const refusals = [
        await send('PUT', `/webhooks/${endpoint.id}`, {
          headers: { authorization: 'Bearer second-private-token' },
        }),
        await send('POST', `/webhooks/${endpoint.id}/rotate-secret`, {}),
        await send('POST', '/webhooks', {
          url: 'http://127.0.0.1:9/other',
          headers: { authorization: 'Bearer third-private-token' },
        }),
        // Queued through BullMQ (its own connection and scripts).
        await send('POST', `/webhooks/${endpoint.id}/resend`, { messageId: message.id }),
      ];
      for (const refused of refusals) {
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
        expect(((await refused.json()) as { error: unknown }).error).toEqual({
          code: 'redis_unavailable',
          message: expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
        });
      }

      // Reported (a 5xx), with nothing written on it.
      expect(failures).toHaveLength(refusals.length);
      for (const failure of failures) {
        // Everything a logger could print: own properties, hidden ones, causes, the stack.
        const printed = inspect(failure, { depth: Number.POSITIVE_INFINITY, showHidden: true });
        expect(printed).not.toContain('whsec_');
        expect(printed).not.toContain(secret.slice('whsec_'.length));
        expect(printed).not.toContain('private-token');
        expect(printed).not.toContain('4155550123');
        // Still says what Redis refused and which command.
        expect(RedisUnavailableError.isInstance(failure)).toBe(true);
        expect(failure.message).toMatch(/\(OOM command not allowed/);
        const command = (failure.cause as { command?: { name?: unknown; args?: unknown } }).command;
        expect(command?.name).toEqual(expect.any(String));
        expect(command?.args).toBeUndefined();
      }
      expect(failures.map((failure) => failure.message.replace(/^.*\) while /, ''))).toEqual([
        'saving an endpoint. Try again later; what was written before the refusal, if anything, stays.',
        'saving an endpoint. Try again later; what was written before the refusal, if anything, stays.',
        'creating an endpoint. Try again later; what was written before the refusal, if anything, stays.',
        'queueing deliveries. Try again later; what was written before the refusal, if anything, stays.',
      ]);
    } finally {
      await dispatcher.close();
      redis.disconnect();
    }
  }, 30_000);

  it('reports an event it could not fan out without the event in it', async () => {
    const { server, admin } = await startServer();
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    const bus = createMemoryBus();
    const failures: Error[] = [];
    let reported: () => void = () => {};
    const failed = new Promise<void>((resolve) => {
      reported = resolve;
    });
    const dispatcher = createWebhookDispatcher({
      bus,
      store: createRedisWebhookStore({ redis, prefix: 'oom:fan-out' }),
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      onError: (error) => {
        failures.push(error);
        reported();
      },
    });
    try {
      await dispatcher.createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' });
      await dispatcher.start();
      await refuseRedisWrites(admin);
      await bus.publish(
        makeCallEvent({ tenantId: 'acme', from: '+14155550123', data: { note: 'private-note' } }),
      );
      await failed;
      for (const failure of failures) {
        const printed = inspect(failure, { depth: Number.POSITIVE_INFINITY, showHidden: true });
        expect(printed).not.toContain('4155550123');
        expect(printed).not.toContain('private-note');
        expect(printed).toContain('OOM command not allowed');
      }
    } finally {
      await dispatcher.close();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);
});
