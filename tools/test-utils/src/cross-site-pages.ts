import { createServer } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { serveForTest } from './serve-for-test';

// What the allowedOrigins browser tests share: a signed-in tab of the app, a page of another
// origin of the same site (another port of 127.0.0.1: its credentialed requests carry the app's
// cookie, as another subdomain's would), and the bodyless POST such a page can send.

/** Another origin of the same site: a blank page, stopped by `stopTestServers()`. */
export async function startForeignSite(): Promise<string> {
  const served = await serveForTest(
    createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><p>another origin</p>');
    }),
  );
  return served.url;
}

/**
 * A signed-in user's tab: a browser context of its own that opened `<appUrl>/login` (where the
 * app sets its session cookie). `cleanups` gets the context's close.
 */
export async function openSignedInTab(
  browser: Browser,
  appUrl: string,
  { cleanups, timeoutMs }: { cleanups: Array<() => unknown>; timeoutMs: number },
): Promise<Page> {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  await page.goto(`${appUrl}/login`);
  return page;
}

/** The page's bodyless POST with the browser's cookies (`no-cors`: no preflight, opaque answer). */
export function postFromPage(
  page: Page,
  target: string,
  mode: 'no-cors' | 'same-origin',
): Promise<void> {
  return page.evaluate(
    async ({ target, mode }) => {
      await fetch(target, { method: 'POST', mode, credentials: 'include' });
    },
    { target, mode },
  );
}
