import type { Browser, Page } from 'playwright-core';

/** A page of the app in a fresh browser context, with the errors it logged. */
export interface OpenedPage {
  page: Page;
  /** Uncaught page errors and `console.error` messages, in order: a test expects none. */
  errors: string[];
  close(): Promise<void>;
}

/** Opens `url` at `width` px wide (900 high), motion reduced, each wait bounded by `timeoutMs`. */
export async function openPage(
  browser: Browser,
  url: string,
  { width = 1400, timeoutMs = 20_000 }: { width?: number; timeoutMs?: number } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}
