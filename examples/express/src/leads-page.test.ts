import { launchTestBrowser, saveScreenshot } from '@calltrack/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPage as openAppPage } from './__tests__/open-page';
import { startConsoleApp, stopDemoApps } from './__tests__/start-demo-app';
import { createDemoLeadList, demoLeadCalls } from './demo-leads';

// Headless Chromium on the leads page, against the app as `npm start` runs it: the dialer places
// its calls through the simulator's provider API, whose signed webhooks move each lead along.
const browser = await launchTestBrowser();

afterAll(async () => {
  await browser?.close();
});

/** Opens a page of the app; page errors fail the test. */
const openPage = (url: string, width = 1400) =>
  openAppPage(browser as Browser, url, { width, timeoutMs: 30_000 });

/** Records every stage each lead row shows, so a test can tell a lead rang before it completed. */
const watchStages = (page: Page) =>
  page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { seenStages: typeof seen }).seenStages = seen;
    const record = () => {
      for (const row of document.querySelectorAll<HTMLElement>('tr[data-lead-id]')) {
        seen[row.dataset.leadId!] ??= [];
        const list = seen[row.dataset.leadId!]!;
        const stage = row.dataset.stage ?? '';
        if (list.at(-1) !== stage) list.push(stage);
      }
    };
    record();
    new MutationObserver(record).observe(document.querySelector('[data-testid="lead-rows"]')!, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-stage'],
    });
  });

const stageOf = (page: Page, leadId: string) =>
  page.locator(`tr[data-lead-id="${leadId}"]`).getAttribute('data-stage');

describe.skipIf(!browser)('the leads page in Chromium', () => {
  afterEach(stopDemoApps);

  it('says Disconnected, not Reconnecting…, once the server has disconnected its socket for good', async () => {
    const demo = await startConsoleApp({
      providers: { simulator: { speed: 4, seed: 11 }, providerApi: demoLeadCalls },
    });
    const { page } = await openPage(`${demo.url}/leads.html`);
    await page.locator('body[data-ready="true"]').waitFor();
    const label = page.getByTestId('connection-state').locator('.connection-label');
    await expect.poll(() => label.textContent()).toBe('Live · Socket.IO');
    // A disconnect by the server: Socket.IO does not reconnect by itself after it.
    demo.io.of('/dialer').disconnectSockets();
    await expect.poll(() => label.textContent()).toBe('Disconnected · Socket.IO');
    expect(await page.getByTestId('connection-state').getAttribute('data-state')).toBe(
      'disconnected',
    );
  });

  it('reads its list again after its socket reconnects, so what changed meanwhile shows', async () => {
    const demo = await startConsoleApp({
      providers: { simulator: { speed: 4, seed: 11 }, providerApi: demoLeadCalls },
    });
    const { page, errors, close } = await openPage(`${demo.url}/leads.html`);
    await page.locator('body[data-ready="true"]').waitFor();
    const label = page.getByTestId('connection-state').locator('.connection-label');
    await expect.poll(() => label.textContent()).toBe('Live · Socket.IO');
    // The connection drops (a proxy, a restart): Socket.IO reconnects by itself.
    for (const socket of demo.io.of('/dialer').sockets.values()) socket.conn.close();
    await expect.poll(() => label.textContent()).not.toBe('Live · Socket.IO');
    // Meanwhile the list changes (here a lead added elsewhere; as well a call ending, a run).
    const added = await fetch(`${demo.url}/api/dialer/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        leads: [{ leadId: 'while-away', phoneNumber: '+14155550777', timeZone: 'UTC' }],
      }),
    });
    expect(added.status).toBe(201);
    await expect.poll(() => label.textContent(), { timeout: 15_000 }).toBe('Live · Socket.IO');
    // It stayed on the list it had read before the drop, until some later event.
    await page.locator('tr[data-lead-id="while-away"]').waitFor({ timeout: 5_000 });
    expect(errors).toEqual([]);
    await close();
  });

  it('loads a list, calls each callable lead once through a reload, and shows why the others were skipped', async () => {
    const demo = await startConsoleApp({
      providers: { simulator: { speed: 4, seed: 11 }, providerApi: demoLeadCalls },
    });
    const { expected } = createDemoLeadList(new Date());
    const callable = Object.keys(expected).filter((id) => expected[id] === 'call');
    const skipped = Object.keys(expected).filter((id) => expected[id] !== 'call');

    const first = await openPage(`${demo.url}/leads.html`);
    await first.page.locator('body[data-ready="true"]').waitFor();
    expect(await first.page.getByTestId('leads-empty').isVisible()).toBe(true);
    await watchStages(first.page);
    await first.page.getByTestId('load-demo-leads').click();
    await first.page.locator('tr[data-lead-id]').nth(7).waitFor();

    // Mid-run (a call is ringing), the page is reloaded: it reads the list again and triggers
    // again, which only schedules a follow-up run.
    await first.page.locator('tr[data-stage="ringing"]').first().waitFor();
    const seenBeforeReload = await first.page.evaluate(
      () => (window as unknown as { seenStages: Record<string, string[]> }).seenStages,
    );
    await saveScreenshot(first.page, 'leads-running');
    await first.page.reload();
    await first.page.locator('body[data-ready="true"]').waitFor();
    await watchStages(first.page);
    expect(await first.page.getByTestId('leads-message').textContent()).toMatch(
      /follow-up run|Run started/,
    );

    for (const leadId of callable) {
      await first.page.locator(`tr[data-lead-id="${leadId}"][data-stage="completed"]`).waitFor({
        timeout: 60_000,
      });
    }
    const seenAfterReload = await first.page.evaluate(
      () => (window as unknown as { seenStages: Record<string, string[]> }).seenStages,
    );
    // Every callable lead was seen on its way: before the reload it went pending → dialing →
    // ringing, or (called after the reload) on the reloaded page.
    const ringing = callable.filter((id) =>
      [...(seenBeforeReload[id] ?? []), ...(seenAfterReload[id] ?? [])].includes('ringing'),
    );
    expect(ringing.length).toBeGreaterThan(0);
    expect(seenBeforeReload[ringing[0]!]).toEqual(
      expect.arrayContaining(['pending', 'dialing', 'ringing']),
    );

    for (const leadId of skipped) {
      expect(await stageOf(first.page, leadId)).toBe('skipped');
      const reason = await first.page
        .locator(`tr[data-lead-id="${leadId}"] [data-testid="lead-details"]`)
        .getAttribute('data-reason');
      expect(reason).toBe(expected[leadId]);
    }
    await expect
      .poll(() => first.page.locator('[data-count="completed"]').textContent())
      .toBe(String(callable.length));
    expect(await first.page.locator('[data-count="skipped"]').textContent()).toBe('3');

    // The simulated provider API counts the calls it was asked to place: once per callable
    // lead, never for a skipped one.
    const { leads } = createDemoLeadList(new Date());
    for (const lead of leads) {
      expect(demo.providers.providerApi.countCalls({ to: lead.phoneNumber })).toBe(
        expected[lead.leadId] === 'call' ? 1 : 0,
      );
    }

    // Loading the list again adds nothing and calls nobody again.
    await first.page.getByTestId('load-demo-leads').click();
    await expect
      .poll(() => first.page.getByTestId('leads-message').textContent())
      .toMatch(/^0 leads added, 8 already in the list\. (Run started|A run is already going)/);
    await first.page.locator('[data-testid="run-state"][data-state="finished"]').waitFor();
    expect(demo.providers.providerApi.countCalls()).toBe(callable.length);

    await saveScreenshot(first.page, 'leads-desktop');
    expect(first.errors).toEqual([]);
    await first.close();

    const phone = await openPage(`${demo.url}/leads.html`, 390);
    await phone.page.locator('body[data-ready="true"]').waitFor();
    await phone.page.locator('tr[data-lead-id]').nth(7).waitFor();
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await saveScreenshot(phone.page, 'leads-phone');
    expect(phone.errors).toEqual([]);
    await phone.close();
  }, 120_000);

  it('with 1,000 leads, a live update rewrites only its own lead’s row', async () => {
    const demo = await startConsoleApp({
      providers: { simulator: { speed: 4, seed: 11 }, providerApi: demoLeadCalls },
    });
    const { leads: demoLeads } = createDemoLeadList(new Date());
    const night = demoLeads.find((lead) => lead.leadId === 'demo-lead-6')!.timeZone;
    // 999 leads where it is night (skipped), and one to call later.
    const bulk = Array.from({ length: 999 }, (_, index) => ({
      leadId: `bulk-${String(index).padStart(4, '0')}`,
      phoneNumber: `+1415555${String(3000 + index).padStart(4, '0')}`,
      timeZone: night,
    }));
    for (const chunk of [bulk.slice(0, 500), bulk.slice(500)]) {
      const added = await fetch(`${demo.url}/api/dialer/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ leads: chunk }),
      });
      expect(added.status).toBe(201);
    }
    const context = await (browser as Browser).newContext({
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The zones' local clocks stay on one minute: a new minute rightly rewrites every row.
    await page.clock.setFixedTime(new Date());
    await page.goto(`${demo.url}/leads.html`);
    await page.locator('body[data-ready="true"]').waitFor();
    await expect.poll(() => page.locator('[data-count="skipped"]').textContent()).toBe('999');

    // Counts, per lead, the times its row was rewritten or moved from now on.
    await page.evaluate(() => {
      const touched: Record<string, number> = {};
      (window as unknown as { touched: typeof touched }).touched = touched;
      const body = document.querySelector('[data-testid="lead-rows"]')!;
      new MutationObserver((records) => {
        for (const record of records) {
          const rows =
            record.target === body
              ? [...record.addedNodes, ...record.removedNodes]
              : [(record.target as Element).closest('tr')];
          for (const row of rows) {
            const id = (row as HTMLElement | null)?.dataset?.leadId;
            if (id) touched[id] = (touched[id] ?? 0) + 1;
          }
        }
      }).observe(body, { subtree: true, childList: true });
    });
    const callable = demoLeads.find((lead) => lead.leadId === 'demo-lead-1')!;
    const added = await fetch(`${demo.url}/api/dialer/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ leads: [callable] }),
    });
    expect(added.status).toBe(201);
    await page.getByTestId('start-run').click();
    await page.locator('tr[data-lead-id="demo-lead-1"][data-stage="completed"]').waitFor();
    const touched = await page.evaluate(
      () => (window as unknown as { touched: Record<string, number> }).touched,
    );
    // The called lead's row changed with each stage; the 999 others never: every update rebuilt
    // every row (about 200 ms of a blocked page per update at this size).
    expect(touched['demo-lead-1']).toBeGreaterThan(0);
    expect(Object.keys(touched).filter((id) => id.startsWith('bulk-'))).toEqual([]);
    expect(await page.locator('tr.lead-row').count()).toBe(1_000);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('says the dialer needs the simulated providers when the app has none', async () => {
    const { startDemoApp } = await import('./__tests__/start-demo-app');
    const demo = await startDemoApp();
    const { page, errors, close } = await openPage(`${demo.url}/leads.html`);
    await page.getByTestId('dialer-unavailable').waitFor();
    expect(await page.getByTestId('load-demo-leads').isDisabled()).toBe(true);
    expect(errors).toEqual([]);
    await close();
  });
});
