import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

let service: Server | undefined;

afterEach(async () => {
  await stopDemoApps();
  await new Promise((resolve) => (service ? service.close(resolve) : resolve(undefined)));
  service = undefined;
});

/** A local HTTP service the demo must not be turned against; counts what reaches it. */
async function startLocalService(): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  service = createServer((_request, response) => {
    hits += 1;
    response.end('internal');
  });
  await new Promise<void>((resolve) => service!.listen(0, '127.0.0.1', resolve));
  return { port: (service.address() as AddressInfo).port, hits: () => hits };
}

describe('the demo webhooks', () => {
  it('reaches loopback for its own receiver only, whatever the API is asked', async () => {
    const demo = await startDemoApp();
    const local = await startLocalService();
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${demo.url}/api${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    };

    for (const url of [
      `http://127.0.0.1:${local.port}/`,
      `https://127.0.0.1:${local.port}/`,
      `http://[::ffff:127.0.0.1]:${local.port}/`,
      `http://localhost:${local.port}/`,
    ]) {
      const created = await api('POST', '/webhooks', { url });
      expect([url, created.status, created.body.error?.message]).toEqual([
        url,
        400,
        expect.stringMatching(/^url: /),
      ]);
    }
    const [receiver] = (await api('GET', '/webhooks')).body.endpoints;
    const moved = await api('PUT', `/webhooks/${receiver.id}`, {
      url: `http://127.0.0.1:${local.port}/`,
    });
    expect([moved.status, moved.body.error?.message]).toEqual([400, expect.stringMatching(/url/)]);

    // A name that resolves to loopback passes the URL check, and is refused when it connects.
    const named = await api('POST', '/webhooks', { url: `https://localhost:${local.port}/` });
    expect(named.status).toBe(201);
    const test = await api('POST', `/webhooks/${named.body.endpoint.id}/test`);
    expect(test.body.attempt).toMatchObject({ status: 'failed', statusCode: 0 });
    expect(test.body.attempt.error).toMatch(/Refused to connect to localhost: /);
    expect(test.body.attempt.error).not.toContain('127.0.0.1');
    expect(local.hits()).toBe(0);

    // Its own receiver still gets every delivery.
    const own = await api('POST', `/webhooks/${receiver.id}/test`);
    expect(own.body.attempt).toMatchObject({ status: 'succeeded', statusCode: 200 });
  });
});
