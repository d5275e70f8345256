import { describe, expect, it } from 'vitest';
import { readBodyOf } from '../request-body-reader';
import { IncomingBody } from './incoming-body';
import { type ClientDisconnect, NodeRequest } from './node-request';

const connected: ClientDisconnect = { disconnected: false, onDisconnect: () => {} };
const make = (body = 'a=1&b=%2B2', disconnect = connected) =>
  new NodeRequest(
    'http://localhost/hook?x=1',
    {
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/x-www-form-urlencoded' }),
    },
    IncomingBody.fromBytes(new TextEncoder().encode(body)),
    disconnect,
  );

describe('NodeRequest', () => {
  it('is a Request with the usual url, method and headers', () => {
    const request = make();
    expect(request).toBeInstanceOf(Request);
    expect(request.url).toBe('http://localhost/hook?x=1');
    expect(request.method).toBe('POST');
    expect(request.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
  });

  it('serves text, json, arrayBuffer, formData and the stream from its bytes, once', async () => {
    expect(await make().text()).toBe('a=1&b=%2B2');
    expect(await make('{"a":1}').json()).toEqual({ a: 1 });
    expect(new TextDecoder().decode(await make().arrayBuffer())).toBe('a=1&b=%2B2');
    expect((await make().formData()).get('b')).toBe('+2');
    expect(await new Response(make().body).text()).toBe('a=1&b=%2B2');
    const request = make();
    await request.text();
    expect(request.bodyUsed).toBe(true);
    await expect(request.text()).rejects.toThrow(TypeError);
  });

  it('clones with its body', async () => {
    const request = make();
    const copy = request.clone();
    expect(await copy.text()).toBe(await request.text());
  });

  it('aborts its signal when the client disconnects, also if asked for it afterwards', () => {
    let disconnect!: () => void;
    const live = make('', {
      disconnected: false,
      onDisconnect: (callback) => (disconnect = callback),
    });
    const signal = live.signal;
    expect(signal.aborted).toBe(false);
    disconnect();
    expect(signal.aborted).toBe(true);
    expect(make('', { disconnected: true, onDisconnect: () => {} }).signal.aborted).toBe(true);
  });

  it('gives its bytes to readBodyOf, once, and other requests give none', async () => {
    const request = make();
    expect(new TextDecoder().decode(await readBodyOf(request, 100))).toBe('a=1&b=%2B2');
    await expect(readBodyOf(request, 100)).rejects.toThrow(TypeError);
    expect(
      readBodyOf(new Request('http://localhost/', { method: 'POST', body: 'x' }), 100),
    ).toBeUndefined();
  });

  it('has no body without one (GET)', async () => {
    const request = new NodeRequest(
      'http://localhost/',
      { method: 'GET', headers: new Headers() },
      undefined,
      connected,
    );
    expect(request.body).toBeNull();
    expect(await request.text()).toBe('');
  });

  it('builds its Headers from the Node headers when asked: repeats joined, pseudo-headers dropped', () => {
    const request = new NodeRequest(
      'http://localhost/',
      {
        method: 'POST',
        headers: {
          ':path': '/',
          'x-token': ['a', 'b'],
          'content-type': 'text/plain',
          gone: undefined,
        },
      },
      IncomingBody.fromBytes(new Uint8Array(0)),
      connected,
    );
    expect([...request.headers]).toEqual([
      ['content-type', 'text/plain'],
      ['x-token', 'a, b'],
    ]);
    expect(request.headers).toBe(request.headers);
  });
});
