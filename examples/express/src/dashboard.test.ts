import { createSimulator, demoLines } from '@calltrack/simulator';
import { launchTestBrowser, saveScreenshot, stopTestServers } from '@calltrack/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postTwilio, twilioStatus } from './__tests__/signed-webhooks';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';
import { startEventsProxy } from './__tests__/start-events-proxy';

// Headless Debian Chromium against the real app: real server, real SSE / Socket.IO, real clicks.
const browser = await launchTestBrowser();
const twilioNorth = demoLines.find(
  (line) => line.provider === 'twilio' && line.branchId === 'north',
)!.number;

afterAll(async () => {
  await browser?.close();
});

type Transport = 'sse' | 'socket.io';

/**
 * Opens the dashboard and waits until its stream is connected; page errors fail the test. With
 * `clock`, the page's timers run on a clock the test can move ahead (`page.clock.runFor`).
 */
async function openDashboard(baseUrl: string, transport: Transport, query = '', clock = false) {
  const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  if (clock) await page.clock.install();
  await page.goto(`${baseUrl}/?transport=${transport}${query}`);
  await connected(page);
  return {
    page,
    errors,
    close: () => context.close(),
  };
}

const connected = (page: Page) =>
  page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();
const row = (page: Page, callId: string) => page.locator(`tr[data-call-id="${callId}"]`);
const rowWithStatus = (page: Page, callId: string, status: string) =>
  page.locator(`tr[data-call-id="${callId}"][data-status="${status}"]`);
const popup = (page: Page, callId: string) =>
  page.locator(`[data-testid="completed-popup"][data-call-id="${callId}"]`);

/** Posts the Twilio status callbacks of one call on the north line. */
function twilioCall(baseUrl: string, callSid: string) {
  let sequence = 0;
  const send = async (
    status: 'initiated' | 'ringing' | 'in-progress' | 'completed',
    duration?: number,
  ) => {
    const response = await postTwilio(
      baseUrl,
      twilioStatus({
        callSid,
        status,
        sequence: sequence++,
        line: twilioNorth,
        customer: '+12125550147',
        ...(duration === undefined ? {} : { duration }),
      }),
    );
    expect(response.status).toBe(200);
  };
  /** The recording callback: it carries no numbers, only the CallSid. */
  const recording = async (url: string) => {
    const response = await postTwilio(baseUrl, {
      AccountSid: `AC${'0'.repeat(32)}`,
      CallSid: callSid,
      RecordingSid: `RE${'1'.repeat(32)}`,
      RecordingUrl: url,
      RecordingStatus: 'completed',
      RecordingDuration: '41',
    });
    expect(response.status).toBe(200);
  };
  return { send, recording };
}

let callCounter = 0;
const nextCallSid = () => `CA${(Date.now() * 100 + callCounter++).toString(16).padStart(32, '0')}`;

describe.skipIf(!browser)('the dashboard in Chromium', () => {
  afterEach(stopDemoApps);
  afterEach(stopTestServers);

  describe.each(['sse', 'socket.io'] as const)('over %s', (transport) => {
    it('shows simulated calls arriving, changing state and leaving the active list', async () => {
      const demo = await startDemoApp();
      const { page, errors, close } = await openDashboard(demo.url, transport, '&popupMs=1500');
      const simulator = createSimulator({
        target: demo.url,
        rate: 2,
        speed: 40,
        maxActiveCalls: 4,
        seed: 21,
      });
      simulator.start();
      try {
        // Calls appear…
        await page.getByTestId('call-row').nth(2).waitFor();
        await saveScreenshot(page, `express-${transport}-simulated-calls`);
        // …they are answered (they came in dialing or ringing), and a toast says so…
        await page
          .locator('tr[data-testid="call-row"][data-status="in-progress"]')
          .first()
          .waitFor();
        await page.getByTestId('toast').first().waitFor();
        // …and a call that was seen live leaves the active list when it ends, and shows up among
        // the completed calls. (Whichever ends first: talk times are minutes, scaled by `speed`.)
        const ended = await page.waitForFunction(() => {
          const state = window as { seenLive?: Set<string> };
          state.seenLive ??= new Set();
          const seen = state.seenLive;
          for (const live of document.querySelectorAll<HTMLElement>(
            'tr[data-testid="call-row"][data-status="in-progress"]',
          )) {
            seen.add(live.dataset.callId!);
          }
          return [...seen].find((id) => !document.querySelector(`tr[data-call-id="${id}"]`));
        });
        const callId = (await ended.jsonValue())!;
        await page.locator(`[data-testid="recent-call"][data-call-id="${callId}"]`).waitFor();
        await page.getByTestId('completed-popup').first().waitFor();
        await saveScreenshot(page, `express-${transport}-simulated-call-ended`);
      } finally {
        await simulator.stop({ abort: true });
      }
      expect(errors).toEqual([]);
      await close();
    });

    it('toasts a call going live, ticks its duration, and pops up the completed call', async () => {
      const demo = await startDemoApp();
      // The talk time's ticks and the popup's closing run on the page's clock, moved by the test.
      const { page, errors, close } = await openDashboard(
        demo.url,
        transport,
        '&popupMs=5000',
        true,
      );
      const callSid = nextCallSid();
      const call = twilioCall(demo.url, callSid);

      await call.send('initiated');
      await rowWithStatus(page, callSid, 'queued').waitFor();
      await expect.poll(() => page.getByTestId('count-total').textContent()).toBe('1');
      await call.send('ringing');
      await rowWithStatus(page, callSid, 'ringing').waitFor();
      await call.send('in-progress');
      await rowWithStatus(page, callSid, 'in-progress').waitFor();

      const toast = page.locator(`[data-testid="toast"][data-call-id="${callSid}"]`);
      await toast.waitFor();
      expect(await toast.textContent()).toContain('+12••••••147');
      expect(await page.locator('[data-branch="north"]').getAttribute('data-count')).toBe('1');
      expect(await page.getByTestId('count-live').textContent()).toBe('1');
      // The talk time runs: from 0:00 to 0:01 and on, once a second.
      await page.clock.runFor(1_000);
      await page.waitForFunction((id) => {
        const text = document.querySelector(
          `tr[data-call-id="${id}"] [data-testid="call-duration"]`,
        )?.textContent;
        return text !== undefined && text !== null && text !== '0:00';
      }, callSid);
      await saveScreenshot(page, `express-${transport}-live-call`);

      await call.send('completed', 42);
      await row(page, callSid).waitFor({ state: 'detached' });
      const completed = popup(page, callSid);
      await completed.waitFor();
      expect(await completed.getByTestId('popup-status').textContent()).toBe('Completed');
      expect(await completed.getByTestId('popup-duration').textContent()).toBe('0:42');
      expect(await completed.getByTestId('popup-contact').textContent()).toBe('+12••••••147');
      expect(await page.getByTestId('count-total').textContent()).toBe('0');
      expect(await page.getByTestId('empty-state').isVisible()).toBe(true);

      // The recording arrives after the end; the open popup links it, through the app (the
      // provider's URL needs the account's credentials and never reaches the browser).
      const recordingUrl = `https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE${callSid.slice(2)}`;
      await call.recording(recordingUrl);
      const link = completed.getByTestId('popup-recording');
      await link.waitFor();
      expect(await link.getAttribute('href')).toBe(`/api/calls/${callSid}/recording`);
      expect(await page.content()).not.toContain('api.twilio.com');
      await saveScreenshot(page, `express-${transport}-completed-popup`);

      // popupMs=5000: it closes itself once that much time passed.
      await page.clock.runFor(5_000);
      await completed.waitFor({ state: 'detached' });
      expect(errors).toEqual([]);
      await close();
    });

    it('resumes after a reload and shows the connection state', async () => {
      const demo = await startDemoApp();
      const { page, errors, close } = await openDashboard(demo.url, transport);
      const first = nextCallSid();
      const firstCall = twilioCall(demo.url, first);
      await firstCall.send('ringing');
      await firstCall.send('in-progress');
      await rowWithStatus(page, first, 'in-progress').waitFor();

      await page.reload();
      await connected(page);
      // From the snapshot…
      await rowWithStatus(page, first, 'in-progress').waitFor();
      // …then live again: a new call arrives, the first one ends.
      const second = nextCallSid();
      await twilioCall(demo.url, second).send('ringing');
      await rowWithStatus(page, second, 'ringing').waitFor();
      await firstCall.send('completed', 7);
      await row(page, first).waitFor({ state: 'detached' });
      await saveScreenshot(page, `express-${transport}-after-reload`);

      // The default popup stays 10 s; the close button closes it at once.
      const completed = popup(page, first);
      await completed.waitFor();
      await completed.getByTestId('popup-close').click();
      await completed.waitFor({ state: 'detached', timeout: 3_000 });

      // The recently completed list comes back after another reload, from the tracker.
      await page.reload();
      await connected(page);
      const recent = page.locator(`[data-testid="recent-call"][data-call-id="${first}"]`);
      await recent.waitFor();
      expect(await recent.locator('.recent-duration').textContent()).toBe('0:07');

      // The server goes away: the indicator says so.
      await demo.close();
      await page
        .locator('[data-testid="connection-state"]:not([data-state="connected"])')
        .waitFor();
      await saveScreenshot(page, `express-${transport}-disconnected`);
      expect(
        errors.filter((error) => !/ERR_CONNECTION_REFUSED|Failed to load/.test(error)),
      ).toEqual([]);
      await close();
    });
  });

  it('keeps the completed popup its usual 10 s when popupMs is past what a timer can wait', async () => {
    const demo = await startDemoApp();
    // 2^31 ms and more: the browser fires such a timer at once, and the popup was gone at once.
    const { page, errors, close } = await openDashboard(
      demo.url,
      'sse',
      '&popupMs=3000000000',
      true,
    );
    const callSid = nextCallSid();
    const call = twilioCall(demo.url, callSid);
    await call.send('ringing');
    await call.send('completed', 12);
    const completed = popup(page, callSid);
    await completed.waitFor();
    await page.clock.runFor(9_000);
    expect(await completed.count()).toBe(1);
    await page.clock.runFor(1_500);
    await completed.waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await close();
  });

  it('says how many calls its counter’s dropdown leaves out, past the 30 it lists', async () => {
    const demo = await startDemoApp();
    for (let index = 0; index < 34; index += 1) {
      await twilioCall(demo.url, nextCallSid()).send('ringing');
    }
    const { page, errors, close } = await openDashboard(demo.url, 'sse');
    await expect.poll(() => page.getByTestId('global-count').textContent()).toBe('34');
    await page.getByTestId('global-counter').click();
    // It listed 30 calls under a header saying 34, and nothing of the other four.
    expect(await page.getByTestId('counter-call').count()).toBe(30);
    expect(await page.getByTestId('counter-more').count()).toBe(1);
    expect(await page.getByTestId('counter-more').textContent()).toBe('4 more in the calls table');
    await twilioCall(demo.url, nextCallSid()).send('ringing');
    await expect
      .poll(() => page.getByTestId('counter-more').textContent())
      .toBe('5 more in the calls table');
    expect(await page.locator('tr[data-call-id]').count()).toBe(35);
    expect(errors).toEqual([]);
    await close();
  });

  it('keeps its counter’s dropdown items (and the focus on one) while calls change', async () => {
    const demo = await startDemoApp();
    const [first, second] = [nextCallSid(), nextCallSid()];
    await twilioCall(demo.url, first).send('ringing');
    const secondCall = twilioCall(demo.url, second);
    await secondCall.send('ringing');
    const { page, errors, close } = await openDashboard(demo.url, 'sse');
    await expect.poll(() => page.getByTestId('global-count').textContent()).toBe('2');
    await page.getByTestId('global-counter').click();
    const item = page.locator(`[data-testid="counter-call"][data-call-id="${first}"]`);
    await item.focus();
    await page.evaluate(() => {
      (window as unknown as { focused: Element | null }).focused = document.activeElement;
    });
    // Another call connects and a third starts: each event rebuilt the whole list.
    await secondCall.send('in-progress');
    await twilioCall(demo.url, nextCallSid()).send('ringing');
    await page
      .locator(`[data-testid="counter-call"][data-call-id="${second}"] .status-in-progress`)
      .waitFor();
    await expect.poll(() => page.getByTestId('counter-call').count()).toBe(3);
    expect(
      await page.evaluate(
        () => document.activeElement === (window as unknown as { focused: Element | null }).focused,
      ),
    ).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="call-drawer"][data-call-id="${first}"]`).waitFor();
    expect(errors).toEqual([]);
    await close();
  });

  it('reopens its SSE stream after a 503, resumes after the last event, and says Reconnecting… meanwhile', async () => {
    const demo = await startDemoApp();
    const proxy = await startEventsProxy(demo.url);
    const context = await (browser as Browser).newContext({
      viewport: { width: 1280, height: 860 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    // The page's timers (its wait before reopening) run only when the test moves its clock.
    await page.clock.install();
    await page.goto(`${proxy.url}/?transport=sse`);
    await connected(page);
    const before = nextCallSid();
    await twilioCall(demo.url, before).send('ringing');
    await rowWithStatus(page, before, 'ringing').waitFor();
    await page.clock.pauseAt(Date.now() + 1_000);
    // Every state the indicator shows from now on.
    await page.evaluate(() => {
      const indicator = document.querySelector<HTMLElement>('[data-testid="connection-state"]')!;
      const states: string[] = [];
      (window as { connectionStates?: string[] }).connectionStates = states;
      new MutationObserver(() => {
        if (states.at(-1) !== indicator.dataset.state) states.push(indicator.dataset.state!);
      }).observe(indicator, { attributes: true, attributeFilter: ['data-state'] });
    });

    // The network drops; the browser reconnects both of the page's streams (calls, presence) by
    // itself and the proxy answers 503: each EventSource closes for good.
    const opened = proxy.eventRequests.length;
    proxy.refuseEvents(2);
    proxy.dropEvents();
    await expect.poll(() => proxy.refused(), { timeout: 10_000 }).toBe(2);
    const missed = nextCallSid();
    await twilioCall(demo.url, missed).send('ringing');
    expect(await page.getByTestId('connection-state').textContent()).toContain('Reconnecting…');

    // The page waits (1 s at most the first time), then opens new streams.
    await expect
      .poll(
        async () => {
          await page.clock.runFor(1_000);
          return proxy.eventRequests.length;
        },
        { timeout: 10_000 },
      )
      .toBe(opened + 4);
    await page.clock.resume();
    await connected(page);
    // Resumed after the last event: the call that started meanwhile is replayed.
    const reopened = proxy.eventRequests.slice(opened + 2);
    const callsStream = reopened.find((path) => path.includes('types=call.'));
    expect(callsStream).toMatch(/[?&]lastEventId=[^&]+/);
    await rowWithStatus(page, missed, 'ringing').waitFor();
    await rowWithStatus(page, before, 'ringing').waitFor();
    const after = nextCallSid();
    await twilioCall(demo.url, after).send('ringing');
    await rowWithStatus(page, after, 'ringing').waitFor();
    expect(
      await page.evaluate(() => (window as { connectionStates?: string[] }).connectionStates),
    ).toEqual(['reconnecting', 'connected']);
    // Chromium logs each cut stream (the drop) and each refused one, and nothing else.
    expect(errors.filter((error) => !/ERR_INCOMPLETE_CHUNKED_ENCODING|of 503/.test(error))).toEqual(
      [],
    );
    await context.close();
  });
});
