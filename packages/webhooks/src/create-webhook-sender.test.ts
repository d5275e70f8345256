import type { LookupAddress } from 'node:dns';
import { startWebhookReceiver, type WebhookReceiver } from '@calltrack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResolveHost } from './create-guarded-lookup';
import { createWebhookSender, type WebhookSender } from './create-webhook-sender';

let receiver: WebhookReceiver;
const senders: WebhookSender[] = [];
const port = (): string => new URL(receiver.url).port;

function sender(options: Parameters<typeof createWebhookSender>[0] = {}): WebhookSender {
  const created = createWebhookSender({ allowedCidrs: ['127.0.0.0/8', '::1/128'], ...options });
  senders.push(created);
  return created;
}

/** A resolver answering from a table, the way a DNS server an attacker controls would. */
function fakeDns(table: () => Record<string, string>): ResolveHost {
  return (hostname, _options, callback) => {
    const address = table()[hostname];
    if (!address) {
      callback(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
        [],
      );
      return;
    }
    const answer: LookupAddress[] = [{ address, family: address.includes(':') ? 6 : 4 }];
    callback(null, answer);
  };
}

beforeEach(async () => {
  receiver = await startWebhookReceiver();
});

afterEach(async () => {
  await Promise.all(senders.splice(0).map((created) => created.close()));
  await receiver.close();
});

describe('createWebhookSender', () => {
  it('posts the body with the headers and reports the status and a truncated body', async () => {
    receiver.respond('/hook', { status: 200, body: 'x'.repeat(50_000) });
    const result = await sender({ userAgent: 'calltrack-test' }).send({
      url: `${receiver.url}/hook`,
      headers: { 'webhook-id': 'msg_1' },
      body: '{"a":1}',
    });
    expect(result).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(result.kind === 'response' && result.body.length).toBe(2048); // the default excerpt
    const [request] = receiver.received('/hook');
    expect(request?.body).toBe('{"a":1}');
    expect(request?.headers).toMatchObject({
      'webhook-id': 'msg_1',
      'content-type': 'application/json',
      'user-agent': 'calltrack-test',
    });
  });

  it('does not follow redirects', async () => {
    receiver.respond('/moved', { status: 302, headers: { location: '/elsewhere' } });
    const result = await sender().send({ url: `${receiver.url}/moved`, headers: {}, body: '{}' });
    expect(result).toMatchObject({ kind: 'response', statusCode: 302 });
    expect(receiver.received()).toHaveLength(1);
  });

  it('reports Retry-After', async () => {
    receiver.respond('/busy', { status: 429, headers: { 'retry-after': '120' } });
    const result = await sender().send({ url: `${receiver.url}/busy`, headers: {}, body: '{}' });
    expect(result).toMatchObject({ kind: 'response', statusCode: 429, retryAfter: '120' });
  });

  it('times out an endpoint that does not answer', async () => {
    receiver.respond('/slow', 'hang');
    const result = await sender({ timeoutMs: 200 }).send({
      url: `${receiver.url}/slow`,
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({ kind: 'error', reason: 'timeout' });
  });

  it('reports a reset connection as a network error', async () => {
    receiver.respond('/reset', 'reset');
    const result = await sender().send({ url: `${receiver.url}/reset`, headers: {}, body: '{}' });
    expect(result).toMatchObject({ kind: 'error', reason: 'network' });
  });
});

describe('the SSRF guard, at connect time', () => {
  it('refuses loopback in every spelling without the allowlist, before connecting', async () => {
    const guarded = sender({ allowedCidrs: [] });
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', 'localhost', '127.1.2.3']) {
      const result = await guarded.send({
        url: `http://${host}:${port()}/x`,
        headers: {},
        body: '{}',
      });
      expect([host, result.kind === 'error' && result.reason]).toEqual([host, 'blocked']);
      expect(result.kind === 'error' && result.message).toMatch(/Refused to connect .*loopback/);
    }
    expect(receiver.received()).toHaveLength(0);
  });

  it('refuses private, link-local (metadata) and IPv4-mapped literals', async () => {
    const guarded = sender({ allowedCidrs: [] });
    for (const host of [
      '10.0.0.1',
      '169.254.169.254',
      '[::ffff:10.0.0.1]',
      '[::ffff:169.254.169.254]',
      '[fd00:ec2::254]',
      '192.168.0.10',
      '100.100.100.200',
    ]) {
      const result = await guarded.send({ url: `http://${host}/x`, headers: {}, body: '{}' });
      expect([host, result.kind === 'error' && result.reason]).toEqual([host, 'blocked']);
    }
  });

  it('refuses IPv4-compatible IPv6 (::/96), as a literal or a resolved name, even with loopback allowed', async () => {
    const guarded = sender({
      resolveHost: fakeDns(() => ({ 'compat.example.test': '::127.0.0.1' })),
    });
    for (const host of ['[::127.0.0.1]', '[::a9fe:a9fe]', 'compat.example.test']) {
      const result = await guarded.send({
        url: `http://${host}:${port()}/x`,
        headers: {},
        body: '{}',
      });
      expect([host, result.kind === 'error' && result.reason]).toEqual([host, 'blocked']);
      expect(result.kind === 'error' && result.message).toMatch(/ipv4Compatible address/);
    }
  });

  it('refuses a host name that resolves to a private address, without naming the address', async () => {
    const guarded = sender({
      allowedCidrs: [],
      resolveHost: fakeDns(() => ({ 'crm.example.test': '10.20.30.40' })),
    });
    const result = await guarded.send({
      url: 'http://crm.example.test/hook',
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({ kind: 'error', reason: 'blocked' });
    // The log row is the tenant's to read: it names the refusal, not what an internal name
    // resolves to.
    expect(result.kind === 'error' && result.message).toContain(
      'Refused to connect to crm.example.test: it is a private address.',
    );
    expect(result.kind === 'error' && result.message).not.toContain('10.20.30.40');
  });

  it('re-checks on every new connection, so DNS rebinding is refused', async () => {
    let answer = '127.0.0.1';
    const guarded = sender({
      allowedCidrs: ['127.0.0.1/32'],
      resolveHost: fakeDns(() => ({ 'rebind.example.test': answer })),
    });
    const url = `http://rebind.example.test:${port()}/hook`;
    // The first answer closes its connection, so the next request needs a new one.
    receiver.respond('/hook', { status: 204, headers: { connection: 'close' } });
    expect(await guarded.send({ url, headers: {}, body: '{}' })).toMatchObject({ statusCode: 204 });
    // The attacker's DNS now answers an internal address.
    answer = '127.0.0.2';
    const result = await guarded.send({ url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ kind: 'error', reason: 'blocked' });
    expect(result.kind === 'error' && result.message).toContain(
      'Refused to connect to rebind.example.test: it is a loopback address.',
    );
    expect(result.kind === 'error' && result.message).not.toContain('127.0.0.2');
    expect(receiver.received('/hook')).toHaveLength(1);
  });
});
