import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import type { Principal } from '@calltrack/core';
import { type NodeHandler, toNodeHandler } from '@calltrack/core/node';
import {
  launchTestBrowser,
  openSignedInTab,
  postFromPage,
  serveForTest,
  startForeignSite,
  startWebhookReceiver,
  stopTestServers,
} from '@calltrack/test-utils';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import { createWebhookHandler } from './create-webhook-handler';

// Chromium with a session cookie (`SameSite=Lax`), on a page of another origin of the same site,
// sending the bodyless `no-cors` POST that needs no preflight (test-utils' cross-site pages).
const browser = await launchTestBrowser();

/** A browser context and a few page loads: seconds on a loaded 2-core machine. */
const testTimeoutMs = 60_000;
const pageTimeoutMs = 30_000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopTestServers();
}, pageTimeoutMs);
afterAll(async () => {
  await browser?.close();
}, pageTimeoutMs);

const tenantId = 'tenant-a';

/**
 * The app: `/login` sets the session cookie, the management API at `/api` authenticates by it.
 * One endpoint exists; `secret()` reads its current secret from the store, `answers` lists every
 * API request's `Origin`, `Sec-Fetch-Site` and status, `authenticated` the cookies seen.
 */
async function startApp(allowOwnOrigin: boolean) {
  const receiver = await startWebhookReceiver();
  cleanups.push(() => receiver.close());
  const store = createMemoryWebhookStore();
  const dispatcher = createWebhookDispatcher({
    store,
    bus: createMemoryBus(),
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
    retrySchedule: [],
  });
  await dispatcher.start();
  cleanups.push(() => dispatcher.close());
  const authenticated: string[] = [];
  const answers: { origin?: string; site?: string; status: number }[] = [];
  let api: NodeHandler | undefined;
  const served = await serveForTest(
    createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]!;
      if (path === '/login') {
        response.writeHead(200, {
          'set-cookie': 'session=u1; Path=/; HttpOnly; SameSite=Lax',
          'content-type': 'text/html',
        });
        response.end('<!doctype html><p>signed in</p>');
        return;
      }
      if (!path.startsWith('/api/')) {
        response.writeHead(404).end();
        return;
      }
      // Noted as the head is written, before a byte reaches the browser.
      const { origin, 'sec-fetch-site': site } = request.headers;
      const writeHead = response.writeHead.bind(response);
      response.writeHead = ((...args: Parameters<typeof response.writeHead>) => {
        answers.push({
          ...(origin === undefined ? {} : { origin }),
          ...(typeof site === 'string' ? { site } : {}),
          status: args[0],
        });
        return writeHead(...args);
      }) as typeof response.writeHead;
      void api?.(request, response);
    }),
  );
  api = toNodeHandler(
    createWebhookHandler({
      dispatcher,
      basePath: '/api',
      ...(allowOwnOrigin ? { allowedOrigins: [served.url] } : {}),
      authenticate: (request): Principal | null => {
        const session = /(?:^|; )session=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
        authenticated.push(session ?? '(no cookie)');
        return session === 'u1' ? { tenantId, userId: session } : null;
      },
    }),
  );
  const { endpoint } = await dispatcher.createEndpoint(tenantId, { url: `${receiver.url}/crm` });
  const secret = async () => (await store.getEndpoint(tenantId, endpoint.id))!.secrets[0]!.secret;
  return {
    url: served.url,
    rotate: `${served.url}/api/webhooks/${endpoint.id}/rotate-secret`,
    test: `${served.url}/api/webhooks/${endpoint.id}/test`,
    receiver,
    secret,
    authenticated,
    answers,
  };
}

/** A signed-in user's browser tab. */
const signedIn = (appUrl: string): Promise<Page> =>
  openSignedInTab(browser!, appUrl, { cleanups, timeoutMs: pageTimeoutMs });

describe.skipIf(!browser)(
  'createWebhookHandler with Chromium: allowedOrigins',
  { timeout: testTimeoutMs },
  () => {
    it('without it, a page of another origin rotates the signed-in tenant’s secret with a no-cors POST', async () => {
      const app = await startApp(false);
      const before = await app.secret();
      const foreign = await startForeignSite();
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await postFromPage(page, app.rotate, 'no-cors');
      expect(app.answers).toEqual([{ origin: foreign, site: 'same-site', status: 200 }]);
      expect(app.authenticated).toEqual(['u1']);
      expect(await app.secret()).not.toBe(before);
    });

    it('with it, a rotation or a test send of that page is refused 403 before authenticate; the app’s own page rotates', async () => {
      const app = await startApp(true);
      const before = await app.secret();
      const foreign = await startForeignSite();
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await postFromPage(page, app.rotate, 'no-cors');
      await postFromPage(page, app.test, 'no-cors');
      expect(app.answers).toEqual([
        { origin: foreign, site: 'same-site', status: 403 },
        { origin: foreign, site: 'same-site', status: 403 },
      ]);
      expect(app.authenticated).toEqual([]);
      expect(await app.secret()).toBe(before);
      expect(app.receiver.requests).toEqual([]);

      // The app's own page: its POST carries its own Origin.
      await page.goto(`${app.url}/login`);
      await postFromPage(page, app.rotate, 'same-origin');
      expect(app.answers[2]).toEqual({ origin: app.url, site: 'same-origin', status: 200 });
      expect(app.authenticated).toEqual(['u1']);
      expect(await app.secret()).not.toBe(before);
    });
  },
);
