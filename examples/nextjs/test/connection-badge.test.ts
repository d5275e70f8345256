// @vitest-environment jsdom
import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import { CallTrackProvider, createCallTrackClient, trpcTransport } from '@calltrack/react';
import { serveForTest } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { createCallTrackRouter, withNodeSseRetry } from '@calltrack/trpc';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { type CreateHTTPContextOptions, createHTTPHandler } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionBadge } from '../components/connection-badge';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const step of cleanups.splice(0).reverse()) await step();
});

const t = initTRPC.context<{ tenantId?: string }>().create();

function createContext({ req }: CreateHTTPContextOptions): { tenantId?: string } {
  const token = req.headers.authorization?.replace(/^Bearer /, '');
  return token ? { tenantId: token } : {};
}

/**
 * A real `@calltrack/trpc` server on loopback (the bearer token is the tenant; none is
 * UNAUTHORIZED) behind a "proxy" that can answer the next subscription request with a status.
 */
async function startServer() {
  const bus = createMemoryBus();
  const tracker = createCallTracker({ bus });
  const router = t.router({
    calltrack: createCallTrackRouter({
      t,
      bus,
      tracker,
      authenticate: (ctx) => (ctx.tenantId ? { tenantId: ctx.tenantId } : null),
    }),
  });
  const handler = withNodeSseRetry(createHTTPHandler({ router, createContext }), { retryMs: 10 });
  const refusals: number[] = [];
  const served = await serveForTest(
    createServer((request, response) => {
      const refusal = request.url?.includes('onCallEvent') ? refusals.shift() : undefined;
      if (refusal === undefined) handler(request, response);
      else response.writeHead(refusal).end();
    }),
  );
  cleanups.push(async () => {
    await served.close();
    await bus.close();
  });
  return { served, router, refuseNextSubscription: (status: number) => refusals.push(status) };
}

type TestServer = Awaited<ReturnType<typeof startServer>>;

/** The badge in a provider whose client subscribes as the campaign page does, with `token`. */
function renderBadge(server: TestServer, token: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const trpc = createTRPCClient<TestServer['router']>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: server.served.url,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
          },
        }),
        false: httpBatchLink({ url: server.served.url, headers }),
      }),
    ],
  });
  const client = createCallTrackClient({
    transport: trpcTransport({
      subscribe: (input, handlers) => trpc.calltrack.onCallEvent.subscribe(input, handlers),
      loadActiveCalls: () => trpc.calltrack.activeCallsSnapshot.query({}),
      onError: () => {},
      retryDelay: () => 0,
    }),
  });
  render(createElement(CallTrackProvider, { client }, createElement(ConnectionBadge)));
  return screen.getByTestId('connection-state');
}

describe('ConnectionBadge over a real @calltrack/trpc subscription', () => {
  it('says Disconnected, with the reason, when the server refuses the subscription', async () => {
    const server = await startServer();
    const badge = renderBadge(server, '');
    await waitFor(() => expect(badge.dataset.state).toBe('disconnected'));
    expect(badge.textContent).toBe('Disconnected');
    expect(badge.title).toMatch(/401/);
  });

  it('comes back to Live after a proxy answered 503 to a reconnect', async () => {
    const server = await startServer();
    const badge = renderBadge(server, 'demo');
    await waitFor(() => expect(badge.dataset.state).toBe('connected'));
    const states: string[] = [];
    const observer = new MutationObserver(() => states.push(badge.dataset.state ?? ''));
    observer.observe(badge, { attributes: true, attributeFilter: ['data-state'] });
    cleanups.push(() => observer.disconnect());

    server.refuseNextSubscription(503);
    server.served.dropConnections();
    await waitFor(() => expect(states.at(-1)).toBe('connected'));
    expect(states).toContain('reconnecting');
    expect(states).not.toContain('connecting');
    expect(badge.textContent).toBe('Live');
  });
});
