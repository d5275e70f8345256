// The security guide's "Slow senders": set `requestTimeout` and `headersTimeout` on your
// `http.Server`; a sender past them gets a 408 and its connection closed, and long-lived
// responses (SSE) are not affected, since these timeouts end when the request has been
// received. A real server with short timeouts: a stream open for longer than them keeps its
// connection and its events, while a slow sender on the same server is answered 408.
import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import {
  callEvents,
  makeCallEvent,
  openEventSource,
  sendHeadersOnly,
  serveForTest,
} from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createSseHandler } from './create-sse-handler';

describe('an SSE stream on a server with requestTimeout and headersTimeout', () => {
  it('outlives them on its one connection, while a slow sender gets 408 and is closed', async () => {
    const bus = createMemoryBus();
    const sse = toNodeHandler(
      createSseHandler({ bus, authenticate: () => ({ tenantId: 'tenant-a', userId: 'u1' }) }),
    );
    let streamsOpened = 0;
    const server = createServer({ connectionsCheckingInterval: 50 }, (request, response) => {
      if (request.url?.startsWith('/events')) {
        streamsOpened += 1;
        void sse(request, response);
        return;
      }
      // A webhook route that waits for its whole body.
      request.resume();
      request.on('end', () => response.end('ok'));
    });
    server.requestTimeout = 300;
    server.headersTimeout = 200;
    const http = await serveForTest(server);
    const stream = openEventSource(`${http.url}/events`);
    try {
      const first = makeCallEvent({ tenantId: 'tenant-a' });
      // Open means live: the stream is subscribed once the client sees it open.
      if (stream.source.readyState !== stream.source.OPEN) {
        await new Promise((resolve) => stream.source.addEventListener('open', resolve));
      }
      await bus.publish(first);
      await stream.until((received) => callEvents(received).length === 1);

      // Headers sent, the body never: Node answers 408 once requestTimeout has passed (checked
      // every connectionsCheckingInterval) and closes the connection. The stream has been open
      // longer than that by then.
      const slow = await sendHeadersOnly(`${http.url}/webhooks/twilio`, {
        declaredBytes: 100,
        timeoutMs: 5_000,
      });
      expect(slow.status).toBe(408);
      expect(slow.closed).toBe(true);

      const second = makeCallEvent({ tenantId: 'tenant-a' });
      await bus.publish(second);
      const received = await stream.until((events) => callEvents(events).length === 2);
      expect(callEvents(received).map((event) => event.data.id)).toEqual([first.id, second.id]);
      // The same connection: the client never had to reconnect.
      expect(streamsOpened).toBe(1);
    } finally {
      stream.close();
    }
  });
});
