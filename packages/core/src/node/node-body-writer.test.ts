import { request as httpRequest, type ServerResponse } from 'node:http';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeHandler } from './to-node-handler';

afterEach(closeServers);

const nodeBodyWriterKey: unique symbol = Symbol.for('calltrack.node-body-writer.v1');

/** A response like the SSE fetch handler's: a web body, and a Node writer offered once. */
class WriterResponse extends Response {
  taken = 0;
  constructor(
    private readonly writer: ((outgoing: ServerResponse) => void) | undefined,
    init: ResponseInit,
  ) {
    super(new ReadableStream({ start: (controller) => controller.enqueue(webBody) }), init);
  }

  [nodeBodyWriterKey](): ((outgoing: ServerResponse) => void) | undefined {
    this.taken += 1;
    return this.writer;
  }
}

const webBody = new TextEncoder().encode('from the web stream');

describe('toNodeHandler: a response that offers its own Node writer', () => {
  it('sends status and headers, then lets the writer own the response; the web body is never read', async () => {
    let response: WriterResponse | undefined;
    const base = await listen(
      toNodeHandler(() => {
        const headers = new Headers({ 'content-type': 'text/plain', 'x-one': '1' });
        headers.append('set-cookie', 'a=1');
        headers.append('set-cookie', 'b=2');
        response = new WriterResponse(
          (outgoing) => {
            outgoing.write('first ');
            setImmediate(() => outgoing.end('second'));
          },
          { status: 201, headers },
        );
        return response;
      }),
    );
    const answer = await fetch(`${base}/stream`);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-one')).toBe('1');
    expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await answer.text()).toBe('first second');
    expect(response?.taken).toBe(1);
    expect(response?.body?.locked).toBe(false);
  });

  it('streams the web body when no writer is given (the body was read elsewhere), and for HEAD', async () => {
    const responses: WriterResponse[] = [];
    const base = await listen(
      toNodeHandler(() => {
        const response = new WriterResponse(undefined, { status: 200 });
        responses.push(response);
        return response;
      }),
    );
    const reading = await fetch(`${base}/stream`);
    const { value } = await reading.body!.getReader().read();
    expect(new TextDecoder().decode(value)).toBe('from the web stream');
    expect(responses[0]?.taken).toBe(1);

    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpRequest(`${base}/stream`, { method: 'HEAD' }, (answer) => {
        answer.resume();
        resolve(answer.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
    // HEAD has no body: nothing is handed to a writer.
    expect(responses[1]?.taken).toBe(0);
  });
});
