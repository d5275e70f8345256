import { launchTestBrowser, saveScreenshot, stopTestServers } from '@calltrack/test-utils';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPage as openAppPage } from './__tests__/open-page';
import { postTwilio, twilioStatus } from './__tests__/signed-webhooks';
import { startConsoleApp, stopDemoApps } from './__tests__/start-demo-app';
import { startEventsProxy } from './__tests__/start-events-proxy';
import { simulateDemoAgents } from './simulate-demo-agents';

// Headless Chromium on the console's Agents panel: the page's own user registers through the
// SSE stream's presence, simulated agents come, change state, take a call and leave.
const browser = await launchTestBrowser();

afterAll(async () => {
  await browser?.close();
});

/** Opens a page of the app; page errors fail the test. */
const openPage = (url: string, width = 1400) => openAppPage(browser as Browser, url, { width });

const agentRow = (userId: string, attributes = '') =>
  `[data-slot="presence"] li[data-user-id="${userId}"]${attributes}`;

describe.skipIf(!browser)('the Agents panel in Chromium', () => {
  afterEach(stopDemoApps);
  afterEach(stopTestServers);

  it('shows agents coming online, their states, a call, and leaving; sets the own state', async () => {
    const demo = await startConsoleApp();
    // Never acts on its own: the test drives each step.
    const agents = simulateDemoAgents({
      presence: demo.presence,
      tenantId: 'demo',
      random: () => 0.99,
    });
    const { page, errors, close } = await openPage(`${demo.url}/?popupMs=60000`);
    await page.locator('[data-slot="presence"][data-ready="true"]').waitFor();

    // The page's own user, registered by its SSE stream; the roster's agents are offline.
    await page.locator(agentRow('demo-user', '[data-status="online"]')).waitFor();
    expect(await page.locator(agentRow('agent-asha')).getAttribute('data-status')).toBe('offline');

    await agents.connect('agent-asha');
    await page
      .locator(agentRow('agent-asha', '[data-status="online"][data-state="available"]'))
      .waitFor();
    await agents.setState('agent-asha', 'wrap-up');
    await page.locator(agentRow('agent-asha', '[data-state="wrap-up"]')).waitFor();
    expect(await page.locator(agentRow('agent-asha')).textContent()).toContain('Wrap-up');

    // The own state, through the app's API.
    await page.getByTestId('presence-state').selectOption('break');
    await page.locator(agentRow('demo-user', '[data-state="break"]')).waitFor();
    expect((await demo.presence.getPresence('demo', 'demo-user')).state).toBe('break');

    // Asha is available again and the next inbound call is routed to her (the user is on a break).
    await agents.setState('agent-asha', 'available');
    await page.locator(agentRow('agent-asha', '[data-state="available"]')).waitFor();
    const callSid = `CA${'7'.repeat(32)}`;
    await postTwilio(
      demo.url,
      twilioStatus({ callSid, status: 'ringing', sequence: 0, line: '+14155550100' }),
    );
    expect((await demo.tracker.getCall('demo', callSid))?.agentId).toBe('agent-asha');
    await page.locator(agentRow('agent-asha', '[data-on-call="true"]')).waitFor();
    expect(await page.getByTestId('presence-summary').textContent()).toContain('1 on a call');
    await saveScreenshot(page, 'console-presence-desktop');

    await agents.leave('agent-asha');
    await page.locator(agentRow('agent-asha', '[data-status="offline"]')).waitFor();
    expect(await page.locator(agentRow('agent-asha')).getAttribute('data-on-call')).toBe('false');
    expect(errors).toEqual([]);
    await close();

    const phone = await openPage(`${demo.url}/`, 390);
    await phone.page.locator(agentRow('demo-user', '[data-status="online"]')).waitFor();
    await phone.page.locator('[data-slot="presence"]').scrollIntoViewIfNeeded();
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await saveScreenshot(phone.page, 'console-presence-phone');
    expect(phone.errors).toEqual([]);
    await phone.close();
    await agents.stop();
  });

  it('reopens its stream after a 503 and follows the agents again, resuming after the last event', async () => {
    const demo = await startConsoleApp();
    const proxy = await startEventsProxy(demo.url);
    const agents = simulateDemoAgents({
      presence: demo.presence,
      tenantId: 'demo',
      random: () => 0.99,
    });
    const context = await (browser as Browser).newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    // The page's timers (its wait before reopening) run only when the test moves its clock.
    await page.clock.install();
    await page.goto(`${proxy.url}/?popupMs=60000`);
    await page.locator('[data-slot="presence"][data-ready="true"]').waitFor();
    await agents.connect('agent-asha');
    await page.locator(agentRow('agent-asha', '[data-status="online"]')).waitFor();
    await page.clock.pauseAt(Date.now() + 1_000);

    // The network drops and the browser's reconnects are answered 503: the page's streams
    // (calls, presence) close for good. Asha changes state meanwhile.
    const opened = proxy.eventRequests.length;
    proxy.refuseEvents(2);
    proxy.dropEvents();
    await expect.poll(() => proxy.refused(), { timeout: 10_000 }).toBe(2);
    await agents.setState('agent-asha', 'wrap-up');
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
    const presenceStream = proxy.eventRequests
      .slice(opened + 2)
      .find((path) => path.includes('types=presence.'));
    expect(presenceStream).toMatch(/[?&]lastEventId=[^&]+/);
    // The missed change, replayed; then live again.
    await page.locator(agentRow('agent-asha', '[data-state="wrap-up"]')).waitFor();
    await agents.setState('agent-asha', 'available');
    await page.locator(agentRow('agent-asha', '[data-state="available"]')).waitFor();
    await page.locator(agentRow('demo-user', '[data-status="online"]')).waitFor();
    await context.close();
    await agents.stop();
  });

  it('refuses a state that is not one of the console states', async () => {
    const demo = await startConsoleApp();
    const put = (body: string, type = 'application/json') =>
      fetch(`${demo.url}/api/presence/state`, {
        method: 'PUT',
        headers: { 'content-type': type },
        body,
      });
    const unknown = await put(JSON.stringify({ state: 'asleep' }));
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.message).toContain('available, break, wrap-up');
    expect((await put('{not json')).status).toBe(400);
    expect((await put(JSON.stringify({ state: 'x'.repeat(2_000) }))).status).toBe(413);
    expect((await put('state=break', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await demo.presence.getPresence('demo', 'demo-user')).state).toBe('available');
    const ok = await put(JSON.stringify({ state: 'wrap-up' }));
    expect(ok.status).toBe(200);
    expect((await ok.json()).agent).toMatchObject({
      userId: 'demo-user',
      state: 'wrap-up',
      you: true,
    });
  });
});
