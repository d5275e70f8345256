import { createMemoryBus } from '@calltrack/bus';
import type { FetchHandler } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  closeServers,
  expressBehindParsers,
  listen,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import express from 'express';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import { createWebhookHandler } from './create-webhook-handler';
import type { WebhookDispatcher } from './webhook-dispatcher';

// The app mounts its body parsers before everything: the management API checks no signature, so
// it answers behind them what it answers without them.

let receiver: WebhookReceiver;
let dispatcher: WebhookDispatcher;
let handler: FetchHandler;
const errors: unknown[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  dispatcher = createWebhookDispatcher({
    store: createMemoryWebhookStore(),
    bus: createMemoryBus(),
    clock: createTestClock(Math.floor(Date.now() / 1000) * 1000),
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
    retrySchedule: [],
  });
  await dispatcher.start();
  handler = createWebhookHandler({
    dispatcher,
    basePath: '/api',
    onError: (error) => errors.push(error),
    authenticate: (request) =>
      request.headers.get('authorization') === 'Bearer token-a' ? { tenantId: 'tenant-a' } : null,
  });
});

afterEach(closeServers);

afterAll(async () => {
  await dispatcher.close();
  await receiver.close();
  expect(errors).toEqual([]);
});

/**
 * The API at /api of an Express app with `parsers` mounted first, and an error handler answering
 * `{ error: { message, type } }` with the error's `status` (else 500). Returns a client for it.
 */
async function serve(parsers: express.RequestHandler[]) {
  const app = expressBehindParsers(parsers, (app) => app.use('/api', toNodeHandler(handler)));
  const base = await listen(app);
  return async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${base}/api${path}`, {
      method,
      headers: {
        authorization: 'Bearer token-a',
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON came back.
      body: (text === '' ? undefined : JSON.parse(text)) as any,
    };
  };
}

const form = 'application/x-www-form-urlencoded';

describe('the webhooks management API behind express.json()', () => {
  it('creates, updates, rotates, tests and recovers as it does without the parser', async () => {
    const call = await serve([express.json()]);
    const created = await call('POST', '/webhooks', {
      url: `${receiver.url}/parsed`,
      description: 'CRM',
      events: ['call.*'],
    });
    expect(created).toMatchObject({
      status: 201,
      body: { secret: expect.stringMatching(/^whsec_/), endpoint: { description: 'CRM' } },
    });
    const id = created.body.endpoint.id as string;

    expect(await call('PUT', `/webhooks/${id}`, { description: 'CRM v2' })).toMatchObject({
      status: 200,
      body: { endpoint: { id, description: 'CRM v2' } },
    });
    const rotated = await call('POST', `/webhooks/${id}/rotate-secret`, { gracePeriodSeconds: 0 });
    expect(rotated).toMatchObject({
      status: 200,
      body: { secret: expect.stringMatching(/^whsec_/) },
    });
    // Where a body is optional, one the parser read and none at all (it reads none) both do.
    expect((await call('POST', `/webhooks/${id}/rotate-secret`)).status).toBe(200);
    const secret = (await call('POST', `/webhooks/${id}/rotate-secret`, {})).body.secret as string;

    const test = await call('POST', `/webhooks/${id}/test`, {});
    expect(test).toMatchObject({ status: 200, body: { attempt: { status: 'succeeded' } } });
    const [sent] = receiver.received('/parsed');
    expect(new Webhook(secret).verify(sent!.body, sent!.headers)).toMatchObject({
      type: 'webhook.test',
    });
    expect(
      await call('POST', `/webhooks/${id}/recover`, { since: Date.now() - 60_000 }),
    ).toMatchObject({ status: 202, body: { queued: 0 } });

    // Bad input is still the route's 400 naming the field, and JSON the parser cannot read is
    // the parser's 400.
    expect(await call('PUT', `/webhooks/${id}`, { tenantId: 'tenant-b' })).toMatchObject({
      status: 400,
      body: { error: { message: 'Unknown field "tenantId".' } },
    });
    expect(await call('POST', `/webhooks/${id}/resend`, {})).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringMatching(/^messageId:/) } },
    });
    expect(await call('POST', '/webhooks', '{"url":')).toMatchObject({
      status: 400,
      body: { error: { type: 'entity.parse.failed' } },
    });
    expect((await call('GET', `/webhooks/${id}`)).body.endpoint.description).toBe('CRM v2');
  });

  it('answers a form body express.urlencoded() read with the 415 it gives without the parser', async () => {
    const plain = await serve([]);
    const parsed = await serve([express.urlencoded({ extended: false })]);
    const { body } = await plain('POST', '/webhooks', { url: `${receiver.url}/forms` });
    const id = body.endpoint.id as string;
    for (const [method, path, sent] of [
      ['POST', '/webhooks', `url=${encodeURIComponent(`${receiver.url}/forms`)}`],
      ['PUT', `/webhooks/${id}`, 'description=changed'],
      ['POST', `/webhooks/${id}/rotate-secret`, 'gracePeriodSeconds=0'],
      ['POST', `/webhooks/${id}/recover`, 'since=0'],
    ] as const) {
      const without = await plain(method, path, sent, form);
      expect([path, without]).toEqual([
        path,
        {
          status: 415,
          body: { error: { code: 'unsupported_media_type', message: expect.any(String) } },
        },
      ]);
      expect([path, await parsed(method, path, sent, form)]).toEqual([path, without]);
    }
    const endpoints = (await plain('GET', '/webhooks')).body.endpoints as {
      id: string;
      url: string;
    }[];
    expect(endpoints.filter((endpoint) => endpoint.id === id)).toEqual([
      expect.objectContaining({ description: '' }),
    ]);
    expect(endpoints.filter((endpoint) => endpoint.url === `${receiver.url}/forms`)).toHaveLength(
      1,
    );
  });

  it('holds a parsed body to its own 64 KiB limit, under the parser’s', async () => {
    const plain = await serve([]);
    const parsed = await serve([express.json({ limit: '1mb' })]);
    const padded = { url: `${receiver.url}/large`, description: 'x'.repeat(70 * 1024) };
    const without = await plain('POST', '/webhooks', padded);
    expect(without).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(await parsed('POST', '/webhooks', padded)).toEqual(without);

    const strict = await serve([express.json()]);
    expect(
      await strict('POST', '/webhooks', { ...padded, description: 'x'.repeat(200 * 1024) }),
    ).toMatchObject({ status: 413, body: { error: { type: 'entity.too.large' } } });
    const endpoints = (await plain('GET', '/webhooks')).body.endpoints as { url: string }[];
    expect(endpoints.filter((endpoint) => endpoint.url.endsWith('/large'))).toEqual([]);
  });
});
