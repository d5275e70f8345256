import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/invalid-argument-error';
import { type NodeRequestUrlOptions, nodeClientAddress, nodeRequestUrl } from './node-request-url';

function incoming(
  headers: Record<string, string | string[]>,
  extra: { url?: string; originalUrl?: string; encrypted?: boolean; remoteAddress?: string } = {},
): IncomingMessage {
  return {
    headers,
    url: extra.url ?? '/hooks/twilio?tenant=acme',
    originalUrl: extra.originalUrl,
    socket: { encrypted: extra.encrypted, remoteAddress: extra.remoteAddress ?? '10.0.0.2' },
  } as unknown as IncomingMessage;
}

describe('nodeRequestUrl', () => {
  it('builds the URL from the socket, the Host header and the path as received', () => {
    expect(nodeRequestUrl(incoming({ host: 'app.test:8080' }), { trustProxy: false }).href).toBe(
      'http://app.test:8080/hooks/twilio?tenant=acme',
    );
    expect(
      nodeRequestUrl(incoming({ host: 'app.test' }, { encrypted: true }), { trustProxy: false })
        .protocol,
    ).toBe('https:');
  });

  it("uses Express's originalUrl under a mount path", () => {
    const request = incoming(
      { host: 'app.test' },
      { url: '/twilio', originalUrl: '/hooks/twilio' },
    );
    expect(nodeRequestUrl(request, { trustProxy: false }).pathname).toBe('/hooks/twilio');
  });

  it('ignores forwarded headers unless trustProxy is set', () => {
    const headers = {
      host: 'internal:3000',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'hooks.example.com',
    };
    expect(nodeRequestUrl(incoming(headers), { trustProxy: false }).origin).toBe(
      'http://internal:3000',
    );
    expect(nodeRequestUrl(incoming(headers), { trustProxy: true }).origin).toBe(
      'https://hooks.example.com',
    );
    const standard = { host: 'internal', forwarded: 'for=192.0.2.60;proto=https;host="a.example"' };
    expect(nodeRequestUrl(incoming(standard), { trustProxy: { header: 'forwarded' } }).origin).toBe(
      'https://a.example',
    );
  });

  it('reads only the family of forwarded headers the proxy sets, never the other', () => {
    // Behind nginx or an ALB a client's own `Forwarded` header passes through untouched.
    const headers = {
      host: 'internal',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'hooks.example.com',
      forwarded: 'proto=http;host=evil.example',
    };
    expect(nodeRequestUrl(incoming(headers), { trustProxy: true }).origin).toBe(
      'https://hooks.example.com',
    );
    expect(
      nodeRequestUrl(incoming(headers), { trustProxy: { header: 'x-forwarded' } }).origin,
    ).toBe('https://hooks.example.com');
    // With RFC 7239 trusted, X-Forwarded-* is the client's, and the proxy's element is the last.
    const standard = {
      host: 'internal',
      'x-forwarded-host': 'evil.example',
      forwarded: 'proto=http;host=evil.example, proto=https;host="a.example"',
    };
    expect(nodeRequestUrl(incoming(standard), { trustProxy: { header: 'forwarded' } }).origin).toBe(
      'https://a.example',
    );
    // Only the other family present: the socket and `Host`, as without a proxy.
    expect(
      nodeRequestUrl(incoming({ host: 'internal', forwarded: 'proto=https;host=a.example' }), {
        trustProxy: true,
      }).origin,
    ).toBe('http://internal');
    expect(
      nodeRequestUrl(incoming({ host: 'internal', 'x-forwarded-proto': 'https' }), {
        trustProxy: { header: 'forwarded' },
      }).origin,
    ).toBe('http://internal');
  });

  it('refuses a trustProxy it does not know, rather than trusting some header', () => {
    for (const trustProxy of ['forwarded', { header: 'Forwarded' }, {}, 1, null]) {
      expect(() =>
        nodeRequestUrl(incoming({ host: 'internal' }), {
          trustProxy: trustProxy as unknown as NodeRequestUrlOptions['trustProxy'],
        }),
      ).toThrow(InvalidArgumentError);
    }
  });

  it('lets host and protocol override everything', () => {
    const headers = { host: 'internal', 'x-forwarded-host': 'evil.example' };
    const url = nodeRequestUrl(incoming(headers), {
      trustProxy: true,
      host: 'hooks.example.com',
      protocol: 'https:',
    });
    expect(url.href).toBe('https://hooks.example.com/hooks/twilio?tenant=acme');
  });

  it('never throws, and never lets a Host header change the path', () => {
    expect(nodeRequestUrl(incoming({ host: 'a b' }), { trustProxy: false }).href).toBe(
      'http://localhost/hooks/twilio?tenant=acme',
    );
    expect(nodeRequestUrl(incoming({ host: 'evil.example/x?' }), { trustProxy: false }).host).toBe(
      'localhost',
    );
    expect(nodeRequestUrl(incoming({}), { trustProxy: false }).host).toBe('localhost');
  });
});

describe('nodeClientAddress', () => {
  it("is the socket's peer unless proxies are trusted, then the proxy's last entry", () => {
    const headers = { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' };
    expect(nodeClientAddress(incoming(headers), { trustProxy: false })).toBe('10.0.0.2');
    expect(nodeClientAddress(incoming(headers), { trustProxy: true })).toBe('203.0.113.9');
    expect(
      nodeClientAddress(incoming({ forwarded: 'for=198.51.100.7, for="[2001:db8::1]:4711"' }), {
        trustProxy: { header: 'forwarded' },
      }),
    ).toBe('2001:db8::1');
    expect(nodeClientAddress(incoming({ 'x-forwarded-for': 'junk' }), { trustProxy: true })).toBe(
      '10.0.0.2',
    );
  });

  it("never takes a client's Forwarded header over the proxy's X-Forwarded-For, nor the reverse", () => {
    const headers = { 'x-forwarded-for': '203.0.113.5', forwarded: 'for=10.9.9.9' };
    expect(nodeClientAddress(incoming(headers), { trustProxy: true })).toBe('203.0.113.5');
    expect(nodeClientAddress(incoming(headers), { trustProxy: { header: 'x-forwarded' } })).toBe(
      '203.0.113.5',
    );
    expect(nodeClientAddress(incoming(headers), { trustProxy: { header: 'forwarded' } })).toBe(
      '10.9.9.9',
    );
    // The trusted family absent: the socket's peer, whatever the other family says.
    expect(nodeClientAddress(incoming({ forwarded: 'for=10.9.9.9' }), { trustProxy: true })).toBe(
      '10.0.0.2',
    );
    expect(
      nodeClientAddress(incoming({ 'x-forwarded-for': '10.9.9.9' }), {
        trustProxy: { header: 'forwarded' },
      }),
    ).toBe('10.0.0.2');
  });
});
