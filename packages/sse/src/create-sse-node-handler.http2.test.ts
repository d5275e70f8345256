// The README's headers claim: `Connection: keep-alive` goes out on HTTP/1.1, and
// `createSseNodeHandler` leaves it out on HTTP/2, where it is forbidden (Node's HTTP/2
// compatibility response drops it with an `UnsupportedWarning` on the process). A real h2c
// server on loopback, a real HTTP/2 client.
import { connect, createServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@calltrack/bus';
import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createSseNodeHandler } from './create-sse-node-handler';

describe('createSseNodeHandler on HTTP/2', () => {
  it('streams without the Connection header HTTP/2 forbids, with the other SSE headers', async () => {
    const bus = createMemoryBus();
    const errors: Error[] = [];
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const handler = createSseNodeHandler({
      bus,
      authenticate: () => ({ tenantId: 'tenant-a' }),
      onError: (error) => errors.push(error),
    });
    // The compatibility API's request and response stand in for node:http's.
    const server = createServer((request, response) => {
      void handler(request as never, response as never);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = connect(`http://127.0.0.1:${port}`);
    try {
      const stream = client.request({ ':path': '/events', ':method': 'GET' });
      stream.setEncoding('utf8');
      const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
      expect(headers[':status']).toBe(200);
      expect(headers['content-type']).toBe('text/event-stream');
      expect(headers['cache-control']).toBe('no-cache, no-transform');
      expect(headers['x-accel-buffering']).toBe('no');
      expect(headers.connection).toBeUndefined();

      let text = '';
      const received = new Promise<void>((resolve) => {
        stream.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('event: call')) resolve();
        });
      });
      const event = makeCallEvent({ tenantId: 'tenant-a' });
      const { cursor } = await bus.publish(event);
      await received;
      expect(text).toMatch(/^retry: \d+\n\n/);
      expect(text).toContain(`id: ${cursor}\nevent: call\n`);
      expect(errors).toEqual([]);
      stream.close();
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => /connection/i.test(warning))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
