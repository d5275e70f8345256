import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import type { ConnectionPresence, Principal } from '@calltrack/core';
import { createPresence } from '@calltrack/presence';
import { launchTestBrowser, serveForTest, stopTestServers } from '@calltrack/test-utils';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSseNodeHandler } from './create-sse-node-handler';

// Chromium's own EventSource, with a session cookie, from a page of the app's origin and from a
// page of another origin of the same site (another port of 127.0.0.1: `SameSite=Lax` cookies go
// with its credentialed requests, as they would from another subdomain).
const browser = await launchTestBrowser();

/**
 * Each test launches a browser context and navigates two or three pages: seconds on a loaded
 * 2-core machine, where vitest's default 5 s once ran out. Playwright's own waits get less, so a
 * stuck step fails with its name rather than the test's timeout.
 */
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
 * A page that opens `target` with the browser's cookies; `window.outcome` settles with how it
 * went (`open`, or `closed` once the browser gave up).
 */
const pageOpening = (target: string) => `<!doctype html><script>
  const source = new EventSource(${JSON.stringify(target)}, { withCredentials: true });
  window.outcome = new Promise((resolve) => {
    source.onopen = () => resolve('open');
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve('closed'); };
  });
</script>`;

/**
 * The app: `/login` sets the session cookie, `/` is its page (opening `/events`), `/events` the
 * stream, authenticated by the cookie alone. Every stream request and its answer are noted, and
 * so is every step the handler took for a user.
 */
async function startApp(allowedOrigins: string[] | ((own: string) => string[]) | undefined) {
  const bus = createMemoryBus();
  const presence = createPresence({ bus, autoHeartbeat: false });
  const authenticated: string[] = [];
  const registered: string[] = [];
  const countedPresence: ConnectionPresence = {
    connect(principal, options) {
      registered.push(principal.userId ?? '');
      return presence.connect(principal, options);
    },
    listMembers: (tenantId) => presence.listMembers(tenantId),
  };
  const answers: { origin: string | undefined; site: string | undefined; status: number }[] = [];
  const waiting = new Set<() => void>();
  let handler: ReturnType<typeof createSseNodeHandler> | undefined;
  let subscriptions = 0;
  const served = await serveForTest(
    createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/login') {
        response.writeHead(200, {
          'set-cookie': 'session=u1; Path=/; HttpOnly; SameSite=Lax',
          'content-type': 'text/plain',
        });
        response.end('signed in');
        return;
      }
      if (path === '/') {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end(pageOpening('/events'));
        return;
      }
      if (path !== '/events' || request.method !== 'GET') {
        response.writeHead(404).end();
        return;
      }
      const { origin, 'sec-fetch-site': site } = request.headers;
      const note = (): void => {
        answers.push({ origin, site: site as string | undefined, status: response.statusCode });
        for (const check of [...waiting]) check();
      };
      // A stream's head goes out once it is open; a refusal's with its end.
      response.once('finish', note);
      const writeHead = response.writeHead.bind(response);
      response.writeHead = ((...args: Parameters<typeof response.writeHead>) => {
        const written = writeHead(...args);
        if (response.statusCode === 200) {
          response.off('finish', note);
          note();
        }
        return written;
      }) as typeof response.writeHead;
      void handler?.(request, response);
    }),
  );
  handler = createSseNodeHandler({
    bus: {
      subscribe(options) {
        subscriptions += 1;
        return bus.subscribe(options);
      },
    },
    presence: countedPresence,
    retryMs: 60_000,
    ...(allowedOrigins === undefined
      ? {}
      : {
          allowedOrigins:
            typeof allowedOrigins === 'function' ? allowedOrigins(served.url) : allowedOrigins,
        }),
    authenticate: (request): Principal | null => {
      const session = /(?:^|; )session=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
      authenticated.push(session ?? '(no cookie)');
      return session ? { tenantId: 'tenant-a', userId: session } : null;
    },
  });
  cleanups.push(() => bus.close());
  return {
    url: served.url,
    authenticated,
    registered,
    answers,
    subscriptions: () => subscriptions,
    /** Resolves once `count` stream requests were answered. */
    answered: (count: number) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (answers.length < count) return;
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
      }),
  };
}

/**
 * Another origin of the same site: a page that opens the app's stream with the user's cookie
 * (by default with an `EventSource`, which sends `Origin`).
 */
async function startForeignSite(target: string, page = pageOpening(target)) {
  const served = await serveForTest(
    createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(page);
    }),
  );
  return served.url;
}

/** A page that requests `target` with the browser's cookies in the ways that send no `Origin`. */
const pageRequestingWithoutOrigin = (target: string) => `<!doctype html><script>
  new Image().src = ${JSON.stringify(`${target}?by=image`)};
  fetch(${JSON.stringify(`${target}?by=fetch`)}, { mode: 'no-cors', credentials: 'include' });
</script>`;

/** A signed-in user's browser tab. */
async function signedIn(appUrl: string): Promise<Page> {
  const context = await browser!.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(pageTimeoutMs);
  await page.goto(`${appUrl}/login`);
  return page;
}

/** How the page's `EventSource` went, once it settled (its events, not a poll). */
const outcome = (page: Page): Promise<string> =>
  page.evaluate(() => (window as unknown as { outcome: Promise<string> }).outcome);

describe.skipIf(!browser)(
  'createSseNodeHandler with Chromium’s EventSource: allowedOrigins',
  { timeout: testTimeoutMs },
  () => {
    it('without it, a page of another origin opens the signed-in user’s stream: authenticated, subscribed, registered online', async () => {
      const app = await startApp(undefined);
      const foreign = await startForeignSite(`${app.url}/events`);
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await app.answered(1);
      // The browser hides the stream from the page (no CORS headers), but the server opened it.
      expect(app.answers).toEqual([{ origin: foreign, site: 'same-site', status: 200 }]);
      expect(app.authenticated).toEqual(['u1']);
      expect(app.registered).toEqual(['u1']);
      expect(app.subscriptions()).toBe(1);
    });

    it('with it, that page’s request is refused 403 before authenticate: no subscription, no presence; the app’s own page streams', async () => {
      const app = await startApp((own) => [own]);
      const foreign = await startForeignSite(`${app.url}/events`);
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await app.answered(1);
      expect(await outcome(page)).toBe('closed');
      expect(app.answers).toEqual([{ origin: foreign, site: 'same-site', status: 403 }]);
      expect(app.authenticated).toEqual([]);
      expect(app.registered).toEqual([]);
      expect(app.subscriptions()).toBe(0);

      // The app's own page: a same-origin EventSource sends no Origin, and streams.
      await page.goto(`${app.url}/`);
      await app.answered(2);
      expect(await outcome(page)).toBe('open');
      expect(app.answers[1]).toEqual({ origin: undefined, site: 'same-origin', status: 200 });
      expect(app.authenticated).toEqual(['u1']);
      expect(app.registered).toEqual(['u1']);
    });

    it('with it, an image and a no-cors fetch of that page (cookie, no Origin, Sec-Fetch-Site same-site) are refused 403 before authenticate', async () => {
      const app = await startApp((own) => [own]);
      const foreign = await startForeignSite(
        `${app.url}/events`,
        pageRequestingWithoutOrigin(`${app.url}/events`),
      );
      const page = await signedIn(app.url);
      await page.goto(foreign);
      await app.answered(2);
      expect(app.answers).toEqual([
        { origin: undefined, site: 'same-site', status: 403 },
        { origin: undefined, site: 'same-site', status: 403 },
      ]);
      expect(app.authenticated).toEqual([]);
      expect(app.registered).toEqual([]);
      expect(app.subscriptions()).toBe(0);
    });
  },
);
