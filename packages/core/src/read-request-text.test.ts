import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from './errors/invalid-payload-error';
import { PayloadTooLargeError } from './errors/payload-too-large-error';
import { readRequestText } from './read-request-text';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request('http://localhost/hook', {
    method: 'POST',
    body,
    headers,
    duplex: 'half',
  } as RequestInit);
}

describe('readRequestText', () => {
  it('reads a UTF-8 body', async () => {
    await expect(readRequestText(post('héllo ☎'), { maxBytes: 100 })).resolves.toBe('héllo ☎');
  });

  it('refuses early when Content-Length is over the limit', async () => {
    const request = post('x'.repeat(10), { 'content-length': '1000' });
    await expect(readRequestText(request, { maxBytes: 100 })).rejects.toSatisfy(
      PayloadTooLargeError.isInstance,
    );
  });

  it('refuses while streaming when there is no Content-Length', async () => {
    const chunk = new Uint8Array(64).fill(97);
    const request = post(streamOf([chunk, chunk, chunk]));
    expect(request.headers.get('content-length')).toBeNull();
    const error = await readRequestText(request, { maxBytes: 100 }).catch((caught) => caught);
    expect(PayloadTooLargeError.isInstance(error)).toBe(true);
    expect(error.status).toBe(413);
  });

  it('accepts a body of exactly the limit', async () => {
    await expect(readRequestText(post('a'.repeat(100)), { maxBytes: 100 })).resolves.toHaveLength(
      100,
    );
  });

  it('rejects bytes that are not UTF-8 with a 400', async () => {
    const error = await readRequestText(post(new Uint8Array([0xff, 0xfe, 0x41])), {
      maxBytes: 100,
    }).catch((caught) => caught);
    expect(InvalidPayloadError.isInstance(error)).toBe(true);
    expect(error.status).toBe(400);
  });

  it('keeps a leading byte-order mark, so signatures over the exact bytes still verify', async () => {
    const text = await readRequestText(post(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), {
      maxBytes: 100,
    });
    expect(text).toBe('\uFEFF{}');
  });

  it('returns an empty string for a request without a body', async () => {
    await expect(readRequestText(new Request('http://localhost/'), { maxBytes: 10 })).resolves.toBe(
      '',
    );
  });
});
