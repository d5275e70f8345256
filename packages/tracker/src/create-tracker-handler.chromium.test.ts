import type { Principal } from '@calltrack/core';
import {
  launchTestBrowser,
  openSignedInTab,
  postFromPage,
  startForeignSite,
  stopTestServers,
} from '@calltrack/test-utils';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CallControlApp, startCallControlApp } from './__tests__/start-call-control-app';

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

/**
 * The app: `/login` sets the session cookie, the tracker API at `/api` (call control on the
 * simulator's provider API) authenticates by that cookie, or by a bearer token for the test's
 * own requests. A call is placed and answered; `authenticated` lists the cookies seen.
 */
async function startApp(allowOwnOrigin: boolean) {
  const authenticated: string[] = [];
  const app: CallControlApp = await startCallControlApp({
    speed: 20,
    providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
    pages: {
      '/login': (_request, response) => {
        response.writeHead(200, {
          'set-cookie': 'session=agent-1; Path=/; HttpOnly; SameSite=Lax',
          'content-type': 'text/html',
        });
        response.end('<!doctype html><p>signed in</p>');
      },
    },
    handler: (url) => ({
      ...(allowOwnOrigin ? { allowedOrigins: [url] } : {}),
      authenticate: (request): Principal | null => {
        if (request.headers.get('authorization') === 'Bearer demo-agent') {
          return { tenantId: 'demo', userId: 'agent-1' };
        }
        const session = /(?:^|; )session=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
        authenticated.push(session ?? '(no cookie)');
        return session === 'agent-1' ? { tenantId: 'demo', userId: session } : null;
      },
    }),
  });
  cleanups.push(() => app.close());
  const placed = await app.api('/api/calls', {
    body: { provider: 'twilio', to: '+14155550123', requestId: `req-${process.pid}` },
  });
  expect(placed.status).toBe(202);
  const callId: string = placed.body.call.callId;
  await app.waitForEvent((event) => event.callId === callId && event.type === 'call.answered');
  return { app, authenticated, terminate: `${app.url}/api/calls/${callId}/terminate` };
}

/** A signed-in user's browser tab. */
const signedIn = (appUrl: string): Promise<Page> =>
  openSignedInTab(browser!, appUrl, { cleanups, timeoutMs: pageTimeoutMs });

describe.skipIf(!browser)(
  'createTrackerHandler with Chromium: allowedOrigins',
  { timeout: testTimeoutMs },
  () => {
    it('without it, a page of another origin ends the signed-in user’s call with a no-cors POST', async () => {
      const { app, authenticated, terminate } = await startApp(false);
      const foreign = await startForeignSite();
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await postFromPage(page, terminate, 'no-cors');
      expect(app.apiAnswers.at(-1)).toMatchObject({ origin: foreign, status: 202 });
      expect(authenticated).toEqual(['agent-1']);
      expect(app.providerApi.calls[0]!.terminated).toBe(true);
    });

    it('with it, that POST is refused 403 before authenticate and the call goes on; the app’s own page ends it', async () => {
      const { app, authenticated, terminate } = await startApp(true);
      const foreign = await startForeignSite();
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await postFromPage(page, terminate, 'no-cors');
      expect(app.apiAnswers.at(-1)).toEqual({
        path: new URL(terminate).pathname,
        origin: foreign,
        site: 'same-site',
        status: 403,
      });
      expect(authenticated).toEqual([]);
      expect(app.providerApi.calls[0]!.terminated).toBe(false);

      // The app's own page: its POST carries its own Origin.
      await page.goto(`${app.url}/login`);
      await postFromPage(page, terminate, 'same-origin');
      expect(app.apiAnswers.at(-1)).toMatchObject({
        origin: app.url,
        site: 'same-origin',
        status: 202,
      });
      expect(authenticated).toEqual(['agent-1']);
      expect(app.providerApi.calls[0]!.terminated).toBe(true);
    });
  },
);
