import { join } from 'node:path';
import { type CallControl, callIdPathSegment } from '@calltrack/core';
import { demoLines } from '@calltrack/simulator';
import { launchTestBrowser, saveScreenshot, screenshotDirectory } from '@calltrack/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPage as openAppPage } from './__tests__/open-page';
import { postRetellCallEnded, postRetellCallStarted } from './__tests__/signed-webhooks';
import { startConsoleApp, startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

// Headless Debian Chromium against the console as `npm start` runs it: the real app, the
// simulator's webhooks and its provider APIs behind click-to-call and hang-up.
const browser = await launchTestBrowser();

afterAll(async () => {
  await browser?.close();
});

const customer = '+14155550123';

/** Opens a page of the app; page errors fail the test. */
const openPage = (url: string, width = 1400) => openAppPage(browser as Browser, url, { width });

const connected = (page: Page) =>
  page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();

/** Records every status each call row shows, so a test can tell it rang before it connected. */
const watchRowStatuses = (page: Page) =>
  page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { seenStatuses: typeof seen }).seenStatuses = seen;
    const record = () => {
      for (const row of document.querySelectorAll<HTMLElement>('tr[data-call-id]')) {
        seen[row.dataset.callId!] ??= [];
        const list = seen[row.dataset.callId!]!;
        const status = row.dataset.status ?? '';
        if (list.at(-1) !== status) list.push(status);
      }
    };
    new MutationObserver(record).observe(document.getElementById('call-rows')!, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-status'],
    });
  });

describe.skipIf(!browser)('the operations console in Chromium', () => {
  afterEach(stopDemoApps);

  it('places a call with click-to-call (it appears, rings, connects) and hangs it up', async () => {
    const demo = await startConsoleApp({
      providers: {
        simulator: { speed: 4, seed: 5 },
        providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
      },
    });
    const { page, errors, close } = await openPage(`${demo.url}/?popupMs=60000`);
    await connected(page);
    await watchRowStatuses(page);

    await page.getByTestId('click-to-call').waitFor();
    await page.getByTestId('dial-to').fill('not a number');
    await page.getByTestId('dial-submit').click();
    expect(await page.getByTestId('dial-message').textContent()).toContain('international form');

    await page.getByTestId('dial-to').fill(customer);
    await page.getByTestId('dial-line').selectOption({ label: 'Twilio · North (…0100)' });
    await page.getByTestId('dial-submit').click();
    await page.locator('[data-testid="dial-message"].is-ok').waitFor();
    const callId = (await page.getByTestId('dial-form').getAttribute('data-last-call-id'))!;
    expect(callId).toMatch(/^CA/);

    const row = page.locator(`tr[data-call-id="${callId}"]`);
    await page.locator(`tr[data-call-id="${callId}"][data-status="in-progress"]`).waitFor();
    const statuses = await page.evaluate(
      (id) => (window as unknown as { seenStatuses: Record<string, string[]> }).seenStatuses[id],
      callId,
    );
    expect(statuses).toContain('ringing');
    expect(statuses?.at(-1)).toBe('in-progress');
    expect(await row.getByTestId('call-contact').textContent()).toBe('+14••••••123');
    expect(await page.getByTestId('global-count').textContent()).not.toBe('0');
    await saveScreenshot(page, 'console-click-to-call-live');

    // The global counter's dropdown lists it.
    await page.getByTestId('global-counter').click();
    await page.locator(`[data-testid="counter-call"][data-call-id="${callId}"]`).waitFor();
    await saveScreenshot(page, 'console-counter-dropdown');
    await page.getByTestId('global-counter').click();

    // Hang up: the button only asks; the row leaves when the provider's webhook says so.
    await row.getByTestId('hangup').click();
    await row.waitFor({ state: 'detached' });
    const recent = page.locator(`[data-testid="recent-call"][data-call-id="${callId}"]`);
    await recent.waitFor();
    expect(await recent.locator('.pill').textContent()).toBe('Completed');
    expect(await demo.tracker.getCall('demo', callId)).toMatchObject({
      status: 'completed',
      active: false,
    });
    expect(demo.providers.providerApi.countCalls({ to: customer })).toBe(1);
    await saveScreenshot(page, 'console-hung-up');
    expect(errors).toEqual([]);
    await close();
  });

  it('ignores a malformed #call= link: the page still connects and stays free of errors', async () => {
    const demo = await startConsoleApp();
    // `%E0%A4%A` is not UTF-8 percent-encoding: decodeURIComponent throws a URIError.
    const { page, errors, close } = await openPage(`${demo.url}/#call=%E0%A4%A`);
    await connected(page);
    await page.evaluate(() => {
      location.hash = 'call=%ZZ';
    });
    await page.waitForFunction(() => location.hash === '#call=%ZZ');
    expect(await page.locator('[data-testid="call-drawer"].is-open').count()).toBe(0);
    expect(errors).toEqual([]);
    await close();
  });

  it('reads the drawer of a call named count from the tracker, not from its count route', async () => {
    const demo = await startConsoleApp();
    const line = demoLines.find((candidate) => candidate.provider === 'retell')!.number;
    const { page, errors, close } = await openPage(`${demo.url}/`);
    await connected(page);
    const reads: string[] = [];
    page.on('request', (request) => {
      const { pathname } = new URL(request.url());
      if (pathname.startsWith('/api/calls/active/')) reads.push(pathname);
    });
    expect((await postRetellCallStarted(demo.url, { callId: 'count', line })).ok).toBe(true);
    await page.evaluate(() => {
      location.hash = 'call=count';
    });
    await page.locator('[data-testid="call-drawer"][data-call-id="count"][data-loaded]').waitFor();
    // Chromium sends the segment as written: the tracker decodes it to the call id.
    expect(reads).toContain('/api/calls/active/%63ount');
    const answer = await page.evaluate(() =>
      fetch('/api/calls/active/%63ount').then((response) => response.json()),
    );
    expect(answer).toMatchObject({ call: { callId: 'count', provider: 'retell' } });
    expect(errors).toEqual([]);
    await close();
  });

  it('opens, hangs up and plays calls named .., ., active, count, timeline and recording', async () => {
    // Plain encodeURIComponent lost these: `/api/calls/../timeline` is `/api/timeline` once a URL
    // resolves it (404), `/api/calls/active/terminate` reads a call named terminate (405), and
    // the console's own `/api/calls/:id/timeline` answered the tracker's read of a call named
    // timeline (`/api/calls/active/timeline`) with the timeline of a call named active.
    const terminated: string[] = [];
    const retellControl: CallControl = {
      provider: 'retell',
      placeCall: () => Promise.reject(new Error('no calls placed in this test')),
      terminateCall: async (callId) => {
        terminated.push(callId);
      },
    };
    const demo = await startDemoApp({
      callControl: (_principal, provider) => (provider === 'retell' ? retellControl : undefined),
    });
    await demo.timelines.ready;
    const line = demoLines.find((candidate) => candidate.provider === 'retell')!.number;
    const { page, errors, close } = await openPage(`${demo.url}/?popupMs=60000`);
    await connected(page);
    const refused: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) refused.push(`${response.status()} ${response.url()}`);
    });

    const callIds = ['..', '.', 'active', 'count', 'timeline', 'recording'];
    for (const callId of callIds) {
      expect((await postRetellCallStarted(demo.url, { callId, line })).ok).toBe(true);
      await page.evaluate((id) => {
        location.hash = `call=${encodeURIComponent(id)}`;
      }, callId);
      const drawer = page.locator(
        `[data-testid="call-drawer"].is-open[data-call-id="${callId}"][data-loaded]`,
      );
      await drawer.waitFor();
      // Its timeline, from the console's own route.
      await drawer.locator('[data-testid="timeline-item"]').first().waitFor();
      expect(await drawer.getByTestId('drawer-facts').textContent()).toContain(callId);
      // The path the drawer reads the call from answers that call.
      // (A string: Vite would rewrite an import() written in this file.)
      const read = await page.evaluate(
        `import('/call-paths.js').then(({ activeCallPath }) =>
          fetch(activeCallPath(${JSON.stringify(callId)})).then((answer) => answer.json()))`,
      );
      expect(read).toMatchObject({ call: { callId, provider: 'retell' } });

      await drawer.getByTestId('drawer-hangup').click();
      await expect.poll(() => terminated).toContain(callId);

      // The call ends with a recording: the drawer's player and the popup's link both play it.
      const ended = await postRetellCallEnded(demo.url, {
        callId,
        line,
        recordingUrl: `https://dxc03zgurdly9.cloudfront.net/x/recording.wav`,
      });
      expect(ended.ok).toBe(true);
      await drawer.getByTestId('drawer-recording-section').waitFor();
      const popupLink = page.locator(
        `[data-testid="completed-popup"][data-call-id="${callId}"] [data-testid="popup-recording"]`,
      );
      await popupLink.waitFor();
      const sources = [
        (await drawer.getByTestId('drawer-recording').getAttribute('src'))!,
        (await popupLink.getAttribute('href'))!,
      ];
      for (const source of sources) {
        const answer = await page.evaluate(
          (url) =>
            fetch(url).then((response) => [response.status, response.headers.get('content-type')]),
          source,
        );
        expect(answer, source).toEqual([200, 'audio/wav']);
      }
      await drawer.getByTestId('drawer-close').click();
    }
    expect(terminated).toEqual(callIds);
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  });

  it("writes call ids into paths by core's rule (public/call-paths.js is its one copy)", async () => {
    const demo = await startDemoApp();
    const { page, errors, close } = await openPage(`${demo.url}/`);
    const ids = ['..', '.', '...', 'active', 'count', 'Count', 'a/b', '%00', 'é ?#', 'CA1'];
    const written = await page.evaluate(
      `import('/call-paths.js').then(({ callIdPathSegment }) =>
        ${JSON.stringify(ids)}.map(callIdPathSegment))`,
    );
    expect(written).toEqual(ids.map(callIdPathSegment));
    expect(errors).toEqual([]);
    await close();
  });

  it('shows alerts the simulator causes, charts with data, and the call drawer', async () => {
    const demo = await startConsoleApp({
      providers: {
        simulator: { speed: 30, seed: 11, rate: 6, maxActiveCalls: 12 },
      },
    });
    const { page, errors, close } = await openPage(`${demo.url}/?popupMs=60000`);
    await connected(page);
    demo.providers.simulator.start();

    // More than 6 calls at once trips the concurrency alert of the demo's rules.
    await page.locator('[data-testid="alert"][data-type="alert.concurrency_exceeded"]').waitFor();
    // The busiest branch tile pulses; a click filters the table to it.
    const busy = page.locator('[data-testid="branch-count"].is-busy').first();
    const branch = (await busy.getAttribute('data-branch'))!;
    await busy.click();
    await page.getByTestId('branch-filter').waitFor();
    const branches = await page
      .locator('tr[data-testid="call-row"] [data-testid="call-branch"]')
      .allTextContents();
    expect(branches.length).toBeGreaterThan(0);
    expect(new Set(branches)).toEqual(new Set([branch.charAt(0).toUpperCase() + branch.slice(1)]));
    await busy.click();

    // Calls end; the analytics reload and every chart draws something.
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-kpi="ended"]')?.textContent) >= 8 &&
        [...document.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]')].every(
          (canvas) => Number(canvas.dataset.points) > 0,
        ),
      undefined,
      { timeout: 45_000 },
    );
    // The active calls are newest first by start time.
    const starts = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('tr[data-call-id]')].map(
        (row) => row.querySelector('[data-testid="call-started"]')?.textContent ?? '',
      ),
    );
    expect(starts).toEqual([...starts].sort().reverse());
    await saveScreenshot(page, 'console-alerts-and-charts');
    const rendered = await page.locator('canvas[data-chart="calls-per-hour"]').boundingBox();
    expect(rendered!.height).toBeGreaterThan(100);

    // The drawer of an ended Retell call: timeline, transcript, analysis.
    let retellId: string | undefined;
    await expect
      .poll(
        async () => {
          const { calls } = (await (
            await fetch(`${demo.url}/api/calls/recent?limit=100`)
          ).json()) as {
            calls: { callId: string; provider: string; durationMs?: number; analysis?: unknown }[];
          };
          retellId = calls.find(
            (call) => call.provider === 'retell' && (call.durationMs ?? 0) > 0 && call.analysis,
          )?.callId;
          return retellId;
        },
        { timeout: 45_000, interval: 500 },
      )
      .toBeDefined();
    // Any call's details open from the URL (#call=<id>), as from a row, the counter or an alert.
    await page.evaluate((id) => {
      location.hash = `call=${id}`;
    }, retellId);
    const drawer = page.locator(
      `[data-testid="call-drawer"][data-call-id="${retellId}"][data-loaded]`,
    );
    await drawer.waitFor();
    await drawer.getByTestId('drawer-transcript-section').waitFor();
    expect(await drawer.getByTestId('drawer-transcript').textContent()).toMatch(/Agent: /);
    expect(await drawer.getByTestId('drawer-analysis-section').isVisible()).toBe(true);
    const types = await drawer
      .locator('[data-testid="timeline-item"]')
      .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.type));
    expect(types).toEqual(expect.arrayContaining(['call.answered', 'call.ended', 'call.analyzed']));
    await saveScreenshot(page, 'console-call-drawer-retell');
    await drawer.getByTestId('drawer-close').click();
    await page.locator('[data-testid="call-drawer"].is-open').waitFor({ state: 'detached' });
    await demo.providers.simulator.stop({ abort: true });
    expect(errors).toEqual([]);
    await close();
  }, 90_000);

  it('shows a machine-answered call as voicemail, plays its recording through the app, and fits a phone', async () => {
    const demo = await startConsoleApp({
      providers: {
        simulator: { speed: 10, seed: 9, rate: 2, maxActiveCalls: 6 },
        providerApi: { outcome: 'voicemail' },
      },
    });
    const { page, errors, close } = await openPage(`${demo.url}/?popupMs=60000`);
    await connected(page);
    const placed = await page.evaluate(() =>
      fetch('/api/calls', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'twilio', to: '+14155550177', requestId: 'vm-1' }),
      }).then((response) => response.json()),
    );
    const callId = placed.call.callId as string;
    const recent = page.locator(`[data-testid="recent-call"][data-call-id="${callId}"]`);
    await recent.waitFor();
    // Twilio's answering-machine detection said machine: not "Completed" with a talk time.
    await page
      .locator(`[data-testid="recent-call"][data-call-id="${callId}"][data-display="machine"]`)
      .waitFor();
    expect(await recent.locator('.pill').textContent()).toBe('Voicemail');
    expect(await recent.locator('.recent-duration').textContent()).toBe('voicemail');
    const popup = page.locator(`[data-testid="completed-popup"][data-call-id="${callId}"]`);
    expect(await popup.getByTestId('popup-status').textContent()).toBe('Voicemail');

    // The drawer: answered by a machine, and the recording plays from the app's own route.
    await page.evaluate((id) => {
      location.hash = `call=${id}`;
    }, callId);
    const drawer = page.locator(
      `[data-testid="call-drawer"][data-call-id="${callId}"][data-loaded]`,
    );
    await drawer.waitFor();
    expect(await drawer.getByTestId('drawer-facts').textContent()).toContain('machine');
    await drawer.getByTestId('drawer-recording-section').waitFor();
    const source = await drawer.getByTestId('drawer-recording').getAttribute('src');
    expect(source).toBe(`/api/calls/${callId}/recording`);
    const played = await page.evaluate(async (src) => {
      const audio = document.querySelector<HTMLAudioElement>('[data-testid="drawer-recording"]')!;
      await new Promise((resolve, reject) => {
        audio.addEventListener('loadedmetadata', resolve, { once: true });
        audio.addEventListener('error', () => reject(new Error('audio error')), { once: true });
        audio.preload = 'metadata';
        audio.load();
      });
      const response = await fetch(src);
      return { type: response.headers.get('content-type'), duration: audio.duration };
    }, source!);
    expect(played.type).toBe('audio/wav');
    expect(played.duration).toBeGreaterThan(0);
    const timeline = await drawer
      .locator('[data-testid="timeline-item"]')
      .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.type));
    expect(timeline).toEqual(expect.arrayContaining(['call.machine_detection', 'call.recording']));
    await saveScreenshot(page, 'console-call-drawer-voicemail');
    await close();

    // A phone: nothing scrolls sideways, the notifications sit in a bar below the calls.
    demo.providers.simulator.start();
    const phone = await openPage(`${demo.url}/?popupMs=60000`, 390);
    await connected(phone.page);
    await phone.page.getByTestId('call-row').nth(2).waitFor();
    await phone.page.getByTestId('completed-popup').first().waitFor({ timeout: 30_000 });
    expect(
      await phone.page.evaluate(() => document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(390);
    await saveScreenshot(phone.page, 'console-phone');
    // What a phone shows at once (a full-page shot draws the fixed bar mid-page).
    await phone.page.screenshot({ path: join(screenshotDirectory, 'console-phone-viewport.png') });
    await phone.page.getByTestId('call-row').first().click();
    await phone.page.locator('[data-testid="call-drawer"][data-loaded]').waitFor();
    await phone.page.screenshot({ path: join(screenshotDirectory, 'console-phone-drawer.png') });
    await demo.providers.simulator.stop({ abort: true });
    expect([...errors, ...phone.errors]).toEqual([]);
    await phone.close();
  }, 60_000);

  it('refreshes the webhooks page every 3 s when refreshMs is past what a timer can wait', async () => {
    const demo = await startDemoApp();
    const context = await (browser as Browser).newContext();
    const page = await context.newPage();
    let reads = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/webhooks') reads += 1;
    });
    await page.clock.install();
    await page.goto(`${demo.url}/webhooks.html?refreshMs=3000000000`);
    await page.getByTestId('endpoint').first().waitFor();
    // 2^31 ms and more: the browser runs such an interval every millisecond, and the page read
    // the API as fast as it answered.
    await page.clock.runFor(2_000);
    expect(reads).toBe(1);
    await page.clock.runFor(1_500);
    await expect.poll(() => reads).toBe(2);
    await context.close();
  });

  it('keeps the focused button of the webhooks page through refreshes that change nothing', async () => {
    const demo = await startDemoApp();
    const { page, errors, close } = await openPage(`${demo.url}/webhooks.html?refreshMs=100`);
    let reads = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/webhooks') reads += 1;
    });
    const button = page.getByTestId('endpoint').first().getByTestId('send-test');
    await button.focus();
    await page.evaluate(() => {
      (window as unknown as { focused: Element | null }).focused = document.activeElement;
    });
    const before = reads;
    await expect.poll(() => reads).toBeGreaterThanOrEqual(before + 3);
    // Every refresh rebuilt the cards: the keyboard's focus fell back to the page, and a click
    // between press and release went to a button no longer there.
    expect(
      await page.evaluate(
        () =>
          document.activeElement === (window as unknown as { focused: Element | null }).focused &&
          document.activeElement?.getAttribute('data-testid'),
      ),
    ).toBe('send-test');
    expect(errors).toEqual([]);
    await close();
  });

  it('lets a refused resend be asked again: its button comes back through refreshes that change nothing', async () => {
    const demo = await startConsoleApp({
      providers: { simulator: { speed: 40, seed: 4, rate: 4, maxActiveCalls: 6 } },
    });
    demo.providers.simulator.start();
    const { page, errors, close } = await openPage(`${demo.url}/webhooks.html?refreshMs=100`);
    const endpoint = page.getByTestId('endpoint').first();
    await endpoint.waitFor();
    await page.locator('[data-testid="attempt"]').first().waitFor();
    await demo.providers.simulator.stop({ abort: true });
    // Disabled, the endpoint refuses a resend (409), and nothing the attempts list shows changes.
    const endpointId = (await endpoint.getAttribute('data-endpoint-id'))!;
    const disabled = await fetch(`${demo.url}/api/webhooks/${endpointId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    });
    expect(disabled.status).toBe(200);
    let reads = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/webhooks') reads += 1;
    });
    const resend = page.locator('[data-testid="attempt"]').first().getByTestId('resend');
    await resend.click();
    await page.locator('[data-testid="attempts-message"].is-error').waitFor();
    const before = reads;
    await expect.poll(() => reads).toBeGreaterThanOrEqual(before + 5);
    // It stayed disabled: only a refresh that rebuilt the rows brought it back, and one that
    // changes nothing leaves them as they are.
    expect(await resend.isEnabled()).toBe(true);
    // The browser logs the refusal it was answered; nothing else went wrong.
    expect(errors.filter((error) => !error.includes('409 (Conflict)'))).toEqual([]);
    await close();
  });

  it('shows the webhooks page: the endpoint, its attempts with status, and resend', async () => {
    const demo = await startConsoleApp({
      webhooks: { failEvery: 3 },
      providers: { simulator: { speed: 40, seed: 4, rate: 4, maxActiveCalls: 6 } },
    });
    demo.providers.simulator.start();
    const { page, errors, close } = await openPage(`${demo.url}/webhooks.html?refreshMs=500`);
    const endpoint = page.getByTestId('endpoint').first();
    await endpoint.waitFor();
    expect(await endpoint.textContent()).toContain('/demo-receiver');
    // Deliveries succeed, and every third is answered 503 (and retried).
    await page.locator('[data-testid="attempt"][data-status="failed"]').first().waitFor();
    await page.locator('[data-testid="attempt"][data-status="succeeded"]').first().waitFor();
    expect(
      await page
        .locator('[data-testid="attempt"][data-status="failed"] [data-testid="attempt-status"]')
        .first()
        .textContent(),
    ).toBe('503');
    await demo.providers.simulator.stop({ abort: true });

    // Resend a delivered message: one more attempt, triggered by the resend.
    const row = page.locator('[data-testid="attempt"][data-status="succeeded"]').first();
    const messageId = (await row.getAttribute('data-message-id'))!;
    await row.getByTestId('resend').click();
    await page.locator('[data-testid="attempts-message"].is-ok').waitFor();
    await page
      .locator(`[data-testid="attempt"][data-message-id="${messageId}"]`, { hasText: 'resend' })
      .first()
      .waitFor();
    await saveScreenshot(page, 'webhooks-page');
    await page.setViewportSize({ width: 390, height: 900 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await saveScreenshot(page, 'webhooks-page-phone');
    expect(errors).toEqual([]);
    await close();
  });
});
