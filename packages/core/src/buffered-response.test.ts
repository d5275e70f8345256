import { describe, expect, it } from 'vitest';
import { BufferedResponse, takeBufferedResponse } from './buffered-response';
import { jsonResponse } from './json-response';

describe('jsonResponse', () => {
  it('is a Response with status, JSON content type and extra headers', async () => {
    const response = jsonResponse({ ok: true }, { status: 201, headers: { Allow: 'POST' } });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toEqual({ ok: true });
  });

  it('serves text, arrayBuffer, blob and the stream from its text, once', async () => {
    expect(await jsonResponse('é').text()).toBe('"é"');
    expect(new TextDecoder().decode(await jsonResponse([1]).arrayBuffer())).toBe('[1]');
    expect(await (await jsonResponse({ a: 1 }).blob()).text()).toBe('{"a":1}');
    expect(await new Response(jsonResponse({ a: 1 }).body).json()).toEqual({ a: 1 });
    const response = jsonResponse({ a: 1 });
    await response.text();
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
    const streamed = jsonResponse({ a: 1 });
    await new Response(streamed.body).text();
    expect(streamed.bodyUsed).toBe(true);
  });

  it('has no body for a 204', async () => {
    const response = jsonResponse({ ignored: true }, { status: 204 });
    expect(response.body).toBeNull();
    expect(await response.text()).toBe('');
  });

  it('clones with its body and headers', async () => {
    const response = jsonResponse({ a: 1 }, { status: 422 });
    const copy = response.clone();
    expect(copy.status).toBe(422);
    expect(await copy.json()).toEqual(await response.json());
    expect(() => response.clone()).toThrow(TypeError);
  });
});

describe('takeBufferedResponse', () => {
  it('hands the Node bridge status, headers and text once, and nothing for other responses', () => {
    const response = jsonResponse({ ok: true }, { status: 202 });
    expect(takeBufferedResponse(response)).toEqual({
      status: 202,
      headers: { 'content-type': 'application/json' },
      text: '{"ok":true}',
    });
    expect(() => takeBufferedResponse(response)).toThrow(TypeError);
    expect(takeBufferedResponse(Response.json({ ok: true }))).toBeUndefined();
  });

  it('includes header changes made after the response was created', () => {
    const response = new BufferedResponse('{}', 200, { 'content-type': 'application/json' });
    response.headers.set('x-request-id', 'abc');
    response.headers.delete('content-type');
    expect(takeBufferedResponse(response)?.headers).toEqual({ 'x-request-id': 'abc' });
  });
});
