import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { createSseNodeHandler } from '@calltrack/sse';
import { launchTestBrowser, serveForTest, testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import type { Browser, Page } from 'playwright-core';
import { build } from 'tsup';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { callEvent } from './__tests__/start-sse-server';

// Chromium's own EventSource, which hides the status of a refused stream, against a real
// @calltrack/sse server that also serves the page and the client bundle (one origin).
const browser = await launchTestBrowser();

/** The client store and the SSE transport, bundled for the page from this package's sources. */
const sources = dirname(fileURLToPath(import.meta.url));
const clientEntry = `
  import { createCallTrackClient } from ${JSON.stringify(join(sources, 'create-call-track-client'))};
  import { sseTransport } from ${JSON.stringify(join(sources, 'sse-transport'))};
  // The browser's own EventSource, counting the streams it is asked to open.
  class CountedEventSource extends EventSource {
    constructor(url, init) {
      super(url, init);
      window.streamsOpened += 1;
    }
  }
  window.startClient = (url) => {
    window.streamsOpened = 0;
    const client = createCallTrackClient({
      transport: sseTransport({ url, EventSource: CountedEventSource, retryDelay: () => 50 }),
      onError: () => {},
    });
    window.states = [];
    client.subscribe(() => window.states.push(client.getSnapshot()));
    client.connect();
  };
`;

async function bundleClient(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'calltrack-chromium-'));
  const entry = join(directory, 'client.ts');
  await writeFile(entry, clientEntry);
  try {
    await build({
      entry: { client: entry },
      format: 'iife',
      platform: 'browser',
      outDir: directory,
      noExternal: [/./],
      silent: true,
      config: false,
      dts: false,
      esbuildOptions: (options) => {
        options.conditions = ['@calltrack/source'];
      },
    });
    return await readFile(join(directory, 'client.global.js'), 'utf8');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const clientBundle = browser ? await bundleClient() : '';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await browser?.close();
});

/**
 * The page at `/`, the bundle at `/client.js`, the stream at `/events?token=<tenant>` (`revoked`
 * is refused: 401). `refuseStreams(503, 503)` answers the next stream GETs as a proxy would,
 * `refuseHeads(405)` the next HEADs.
 */
async function startServer() {
  const bus = createMemoryBus();
  const tracker = createCallTracker({ bus, clock: testEventClock() });
  const handler = createSseNodeHandler({
    bus,
    tracker,
    retryMs: 10,
    authenticate: (request) => {
      const token = new URL(request.url).searchParams.get('token');
      return token && token !== 'revoked' ? { tenantId: token } : null;
    },
  });
  const requests: string[] = [];
  const proxyRefusals: number[] = [];
  const headRefusals: number[] = [];
  const served = await serveForTest(
    createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/') {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<!doctype html><script src="/client.js"></script>');
        return;
      }
      if (path === '/client.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' });
        response.end(clientBundle);
        return;
      }
      if (path !== '/events') {
        response.writeHead(404).end();
        return;
      }
      requests.push(request.method ?? '');
      const refusal = request.method === 'GET' ? proxyRefusals.shift() : headRefusals.shift();
      if (refusal !== undefined) response.writeHead(refusal).end();
      else void handler(request, response);
    }),
  );
  cleanups.push(async () => {
    await served.close();
    await bus.close();
  });
  return {
    url: served.url,
    tracker,
    requests,
    refuseStreams: (...statuses: number[]) => proxyRefusals.push(...statuses),
    /** Answers the next HEADs with these statuses, as a server that does not know HEAD would. */
    refuseHeads: (...statuses: number[]) => headRefusals.push(...statuses),
  };
}

async function openClient(baseUrl: string, token: string): Promise<Page> {
  const context = await (browser as Browser).newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${baseUrl}/`);
  await page.evaluate(
    (url) => (window as unknown as { startClient(url: string): void }).startClient(url),
    `/events?token=${token}`,
  );
  return page;
}

interface PageState {
  connection: {
    isConnected: boolean;
    reconnecting: boolean;
    error?: { code: string; status: number };
  };
  activeCalls: { callId: string }[];
}

/** The client's last state as plain data (the error's own fields, which an `Error` would lose). */
const lastState = (page: Page): Promise<PageState | undefined> =>
  page.evaluate(() => {
    const state = (window as unknown as { states: PageState[] }).states.at(-1);
    if (state === undefined) return undefined;
    const { error, ...connection } = state.connection;
    return {
      ...state,
      connection: error
        ? { ...connection, error: { code: error.code, status: error.status } }
        : connection,
    };
  });

describe.skipIf(!browser)('sseTransport with Chromium’s EventSource', () => {
  it('ends with state.connection.error on a 401 instead of retrying it: the HEAD tells the status', async () => {
    const server = await startServer();
    const page = await openClient(server.url, 'revoked');
    // Retried refusals would keep coming every 50 ms: wait for the error, or a third stream.
    await page.waitForFunction(() => {
      const { states, streamsOpened } = window as unknown as {
        states: PageState[];
        streamsOpened: number;
      };
      return states.at(-1)?.connection.error !== undefined || streamsOpened >= 3;
    });
    const state = await lastState(page);
    expect(state?.connection).toMatchObject({
      isConnected: false,
      reconnecting: false,
      error: { code: 'unauthorized', status: 401 },
    });
    expect(server.requests).toEqual(['GET', 'HEAD']);
  });

  it('ends with state.connection.error on a 400 (a malformed filter) instead of retrying it', async () => {
    const server = await startServer();
    const page = await openClient(server.url, 'tenant-a&types=Call.Ended');
    await page.waitForFunction(() => {
      const { states, streamsOpened } = window as unknown as {
        states: PageState[];
        streamsOpened: number;
      };
      return states.at(-1)?.connection.error !== undefined || streamsOpened >= 3;
    });
    const state = await lastState(page);
    expect(state?.connection).toMatchObject({
      isConnected: false,
      reconnecting: false,
      error: { code: 'rejected', status: 400 },
    });
    expect(server.requests).toEqual(['GET', 'HEAD']);
  });

  it('retries when the HEAD is answered 405 (a server that does not answer HEAD so), then streams', async () => {
    const server = await startServer();
    await server.tracker.ingest(callEvent('CA-1'));
    server.refuseStreams(503);
    server.refuseHeads(405);
    const page = await openClient(server.url, 'tenant-a');
    await page.waitForFunction(() => {
      const { states } = window as unknown as { states: PageState[] };
      const state = states.at(-1);
      return state?.connection.isConnected === true && state.activeCalls.length === 1;
    });
    expect(server.requests).toEqual(['GET', 'HEAD', 'GET']);
  });

  it('retries a proxy’s 503 (its HEAD passes: 200), then streams', async () => {
    const server = await startServer();
    await server.tracker.ingest(callEvent('CA-1'));
    server.refuseStreams(503, 503);
    const page = await openClient(server.url, 'tenant-a');
    await page.waitForFunction(() => {
      const { states } = window as unknown as { states: PageState[] };
      const state = states.at(-1);
      return state?.connection.isConnected === true && state.activeCalls.length === 1;
    });
    expect(server.requests).toEqual(['GET', 'HEAD', 'GET', 'HEAD', 'GET']);
    const state = await lastState(page);
    expect(state?.connection).toEqual({ isConnected: true, reconnecting: false });
  });
});
