import { existsSync } from 'node:fs';
import {
  createProviderApi,
  createSimulator,
  type ProviderApi,
  type SimulatorProvider,
} from '@calltrack/simulator';
import {
  browserRequired,
  chromiumPath,
  freePort,
  launchTestBrowser,
  saveScreenshot,
} from '@calltrack/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  scriptCall,
  sendUnsignedWebhook,
  sendWebhook,
  webhookPaths,
  webhooksOf,
} from './send-webhook';
import { type NextApp, startNextApp } from './start-next-app';

// Locally the browser suite skips without Chromium; CI sets CALLTRACK_REQUIRE_BROWSER=1.
const browserAvailable = existsSync(chromiumPath) || browserRequired;

let app: NextApp;
let browser: Browser | undefined;
let providerApi: ProviderApi;
const busyLead = '+14155550122';

beforeAll(async () => {
  // The simulated providers' APIs, for "Call Now": placed calls ring, connect (or are busy) and
  // report to the app with signed webhooks, as the real providers would.
  const port = await freePort();
  const simulator = createSimulator({
    target: `http://127.0.0.1:${port}`,
    paths: webhookPaths,
    speed: 10,
    seed: 17,
  });
  providerApi = createProviderApi({
    simulator,
    outcome: (request) => (request.to === busyLead ? 'busy' : 'completed'),
    talkDurationMs: 3_600_000,
  });
  const providerApiUrl = await providerApi.listen();
  app = await startNextApp({ PROVIDER_API_URL: providerApiUrl }, port);
  if (browserAvailable) browser = await launchTestBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await providerApi?.close();
});

async function expectStatus(response: Promise<Response>, status: number): Promise<void> {
  const answer = await response;
  expect(answer.status, await answer.text()).toBe(status);
}

describe('webhook route handlers over HTTP', () => {
  it('answers 404 for a provider it does not know', async () => {
    const response = await fetch(`${app.url}/api/webhooks/plivo`, { method: 'POST', body: '' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it.each<SimulatorProvider>(['twilio', 'retell', 'callerdesk'])(
    '%s: 401 without a signature, 403 with a wrong one, 200 when signed',
    async (provider) => {
      const [first] = scriptCall(provider).webhooks;
      await expectStatus(sendUnsignedWebhook(app.url, first!), 401);
      const wrong = {
        twilioAuthToken: 'wrong-twilio-auth-token',
        retellApiKey: 'wrong-retell-api-key',
        callerDeskToken: 'wrong-callerdesk-token-0123',
      };
      await expectStatus(sendWebhook(app.url, first!, wrong), 403);
      await expectStatus(sendWebhook(app.url, first!), 200);
    },
  );

  it('takes a whole simulated call from every provider', async () => {
    const simulator = createSimulator({ target: app.url, paths: webhookPaths, speed: Infinity });
    const calls = await Promise.all(
      (['twilio', 'retell', 'callerdesk'] as const).map((provider) =>
        simulator.runCall({ provider, outcome: 'completed' }),
      ),
    );
    for (const call of calls) {
      expect(
        call.deliveries.filter((delivery) => !delivery.ok),
        `${call.provider} deliveries`,
      ).toEqual([]);
    }
  });
});

describe.skipIf(!browserAvailable)('the campaign page in Chromium', () => {
  async function openPage(popupMs = 3000): Promise<Page> {
    const page = await browser!.newPage();
    // Fail with the step that is stuck rather than with the test's own timeout.
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${app.url}/?popupMs=${popupMs}`);
    await waitUntilLive(page);
    return page;
  }

  async function waitUntilLive(page: Page): Promise<void> {
    await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();
    await page.locator('[data-testid="active-calls"][data-loaded="true"]').waitFor();
    await page.waitForFunction(
      () =>
        Number(
          document.querySelector('[data-testid="campaign-stats"]')?.getAttribute('data-loads'),
        ) > 0,
    );
  }

  const activeCall = (page: Page, callId: string) =>
    page.locator(`[data-testid="active-call"][data-call-id="${callId}"]`);

  const statLoads = (page: Page) =>
    page.locator('[data-testid="campaign-stats"]').getAttribute('data-loads').then(Number);

  it('follows a call through its states: toast when live, popup on completion that closes itself, data refreshed', async () => {
    // Long enough for the steps between the end and the recording on a slow machine.
    const popupMs = 6000;
    const page = await openPage(popupMs);
    const script = scriptCall('twilio', {
      talkDurationMs: 65_000,
      direction: 'outbound',
      with: 'recording',
    });
    const send = async (kind: string) => {
      for (const webhook of webhooksOf(script, kind)) {
        await expectStatus(sendWebhook(app.url, webhook), 200);
      }
    };

    await send('status:initiated');
    await activeCall(page, script.callId).and(page.locator('[data-status="queued"]')).waitFor();
    await send('status:ringing');
    await activeCall(page, script.callId).and(page.locator('[data-status="ringing"]')).waitFor();
    await send('status:in-progress');
    await activeCall(page, script.callId)
      .and(page.locator('[data-status="in-progress"]'))
      .waitFor();
    await page
      .locator(`[data-testid="call-live-toast"][data-call-id="${script.callId}"]`)
      .waitFor();

    // The duration runs while the call is active.
    const duration = activeCall(page, script.callId).getByTestId('call-duration');
    const shown = await duration.textContent();
    await page.waitForFunction(
      ({ callId, before }) =>
        document.querySelector(`[data-call-id="${callId}"] [data-testid="call-duration"]`)
          ?.textContent !== before,
      { callId: script.callId, before: shown },
    );
    await saveScreenshot(page, 'nextjs-call-live');

    const loadsBefore = await statLoads(page);
    const endedBefore = Number(await page.getByTestId('stat-ended').textContent());
    await send('amd');
    await send('status:completed');

    // The call leaves the active list, and the popup shows how it ended.
    await activeCall(page, script.callId).waitFor({ state: 'detached' });
    const popup = page.locator(`[data-testid="completion-popup"][data-call-id="${script.callId}"]`);
    await popup.waitFor();
    expect(await popup.getByTestId('popup-status').textContent()).toBe('Completed');
    expect(await popup.getByTestId('popup-duration').textContent()).toBe('1:05');
    await page.waitForFunction(
      (callId) =>
        /^\+1\d\*+\d{3}$/.test(
          document.querySelector(`[data-call-id="${callId}"] [data-testid="popup-contact"]`)
            ?.textContent ?? '',
        ),
      script.callId,
    );
    expect(await popup.getByTestId('popup-contact').textContent()).not.toContain(
      script.customerNumber.slice(3, 9),
    );

    // Twilio's recording callback comes after the end; the open popup picks it up.
    await send('recording');
    await popup.getByTestId('popup-recording').waitFor();
    // Played through the app, never from the provider's URL (it needs the account's credentials).
    const recordingHref = await popup.getByTestId('popup-recording').getAttribute('href');
    expect(recordingHref).toBe(`/api/calls/${script.callId}/recording`);
    const recording = await fetch(`${app.url}${recordingHref}`);
    expect(recording.headers.get('content-type')).toBe('audio/wav');
    expect(new TextDecoder().decode((await recording.arrayBuffer()).slice(0, 4))).toBe('RIFF');
    expect(await page.content()).not.toContain('api.twilio.com');
    expect((await fetch(`${app.url}/api/calls/CA-unknown/recording`)).status).toBe(404);

    // The campaign figures and the recent calls were loaded again through tRPC.
    await page.waitForFunction(
      (before) =>
        Number(
          document.querySelector('[data-testid="campaign-stats"]')?.getAttribute('data-loads'),
        ) > before,
      loadsBefore,
    );
    await page.locator(`[data-testid="recent-call"][data-call-id="${script.callId}"]`).waitFor();
    expect(Number(await page.getByTestId('stat-ended').textContent())).toBeGreaterThan(endedBefore);
    await saveScreenshot(page, 'nextjs-call-completed');

    // Nobody clicks: the popup closes itself.
    await popup.waitFor({ state: 'detached', timeout: popupMs + 5000 });
    await page.close();
  });

  it('shows simulated traffic from all three providers live', async () => {
    const page = await openPage();
    // Records every state the page shows per call, so that short-lived states are not missed.
    await page.evaluate(() => {
      const seen: Record<string, { statuses: string[]; toast: boolean; popup: boolean }> = {};
      const entry = (callId: string) => {
        seen[callId] ??= { statuses: [], toast: false, popup: false };
        return seen[callId];
      };
      const scan = () => {
        for (const element of document.querySelectorAll<HTMLElement>(
          '[data-testid="active-call"]',
        )) {
          const record = entry(element.dataset.callId ?? '');
          const status = element.dataset.status ?? '';
          if (!record.statuses.includes(status)) record.statuses.push(status);
        }
        for (const element of document.querySelectorAll<HTMLElement>(
          '[data-testid="call-live-toast"]',
        )) {
          entry(element.dataset.callId ?? '').toast = true;
        }
        for (const element of document.querySelectorAll<HTMLElement>(
          '[data-testid="completion-popup"]',
        )) {
          entry(element.dataset.callId ?? '').popup = true;
        }
      };
      new MutationObserver(scan).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['data-status'],
      });
      scan();
      (window as unknown as { seen: typeof seen }).seen = seen;
    });

    const simulator = createSimulator({ target: app.url, paths: webhookPaths, speed: 20 });
    const calls = await Promise.all(
      (['twilio', 'retell', 'callerdesk'] as const).map((provider) =>
        simulator.runCall({ provider, outcome: 'completed', talkDurationMs: 30_000 }),
      ),
    );
    expect(calls.every((call) => call.ok)).toBe(true);

    const callIds = calls.map((call) => call.callId);
    await page.waitForFunction((ids) => {
      const seen = (
        window as unknown as {
          seen: Record<string, { statuses: string[]; toast: boolean; popup: boolean }>;
        }
      ).seen;
      return ids.every(
        (id) =>
          seen[id]?.statuses.includes('in-progress') &&
          seen[id].toast &&
          seen[id].popup &&
          !document.querySelector(`[data-testid="active-call"][data-call-id="${id}"]`),
      );
    }, callIds);
    await saveScreenshot(page, 'nextjs-simulated-traffic');
    await page.close();
  });

  it('resumes after a reload: active calls come back and live updates continue', async () => {
    const page = await openPage();
    const script = scriptCall('retell', { talkDurationMs: 20_000 });
    const [started] = webhooksOf(script, 'call_started');
    await expectStatus(sendWebhook(app.url, started!), 200);
    await activeCall(page, script.callId)
      .and(page.locator('[data-status="in-progress"]'))
      .waitFor();

    await page.reload();
    await waitUntilLive(page);
    // From the snapshot the page loads on `ready`.
    await activeCall(page, script.callId)
      .and(page.locator('[data-status="in-progress"]'))
      .waitFor();

    // A new call and the end of the old one arrive live on the new subscription.
    const next = scriptCall('callerdesk', { talkDurationMs: 15_000 });
    const [live] = webhooksOf(next, /^live:/);
    await expectStatus(sendWebhook(app.url, live!), 200);
    await activeCall(page, next.callId).waitFor();

    for (const webhook of webhooksOf(script, /^call_(ended|analyzed)$/)) {
      await expectStatus(sendWebhook(app.url, webhook), 200);
    }
    await activeCall(page, script.callId).waitFor({ state: 'detached' });
    await page
      .locator(`[data-testid="completion-popup"][data-call-id="${script.callId}"]`)
      .waitFor();
    await page.locator(`[data-testid="recent-call"][data-call-id="${script.callId}"]`).waitFor();
    await saveScreenshot(page, 'nextjs-after-reload');
    await page.close();
  });
});

describe.skipIf(!browserAvailable)('calling leads from the campaign page', () => {
  const lead = (page: Page, id: string) =>
    page.locator(`[data-testid="lead"][data-lead-id="${id}"]`);

  it('Call Now: the call rings and connects with a toast while live; hang-up ends it with a popup and a refresh', async () => {
    const page = await browser!.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${app.url}/?popupMs=20000`);
    await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();
    await lead(page, 'lead-1').waitFor();
    // Readable and masked: a name, a company, the number with its middle hidden.
    expect(await lead(page, 'lead-1').textContent()).toContain('Avery Chen');
    expect(await lead(page, 'lead-1').getByTestId('lead-contact').textContent()).toMatch(
      /^\+14\D+121$/,
    );
    expect(await page.content()).not.toContain('4155550121');
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { ownStatuses: string[] }).ownStatuses = seen;
      new MutationObserver(() => {
        const status = document
          .querySelector<HTMLElement>('[data-testid="own-call-toast"]')
          ?.getAttribute('data-status');
        if (status && seen.at(-1) !== status) seen.push(status);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    const loadsBefore = Number(
      await page.locator('[data-testid="campaign-stats"]').getAttribute('data-loads'),
    );

    await lead(page, 'lead-1').getByTestId('call-now').click();
    const toast = page.getByTestId('own-call-toast');
    await toast.waitFor();
    expect(await toast.textContent()).toContain('Avery Chen');
    const callId = (await toast.getAttribute('data-call-id'))!;
    await page.locator(`[data-testid="own-call-toast"][data-status="in-progress"]`).waitFor();
    const statuses = await page.evaluate(
      () => (window as unknown as { ownStatuses: string[] }).ownStatuses,
    );
    expect(statuses).toContain('ringing');
    const row = page.locator(`[data-testid="active-call"][data-call-id="${callId}"]`);
    expect(await row.getByTestId('call-contact').textContent()).toMatch(/^\+14\D+121$/);
    expect(await row.textContent()).toContain('Twilio');
    expect(await lead(page, 'lead-1').getByTestId('call-now').isDisabled()).toBe(true);
    await saveScreenshot(page, 'nextjs-call-now-live');

    await toast.getByTestId('hang-up').click();
    await toast.waitFor({ state: 'detached' });
    const popup = page.locator(`[data-testid="completion-popup"][data-call-id="${callId}"]`);
    await popup.waitFor();
    expect(await popup.getByTestId('popup-status').textContent()).toBe('Completed');
    await page.waitForFunction(
      (before) =>
        Number(
          document.querySelector('[data-testid="campaign-stats"]')?.getAttribute('data-loads'),
        ) > before,
      loadsBefore,
    );
    await expect
      .poll(() => lead(page, 'lead-1').getByTestId('lead-last-call').textContent())
      .toMatch(/^Last call: Completed/);
    expect(providerApi.countCalls({ to: '+14155550121' })).toBe(1);

    // A busy lead counts as busy, not as failed.
    const failedBefore = Number(await page.getByTestId('stat-failed').textContent());
    await lead(page, 'lead-2').getByTestId('call-now').click();
    await expect
      .poll(() => lead(page, 'lead-2').getByTestId('lead-last-call').textContent(), {
        timeout: 15_000,
      })
      .toBe('Last call: Busy');
    await expect
      .poll(async () => Number(await page.getByTestId('stat-busy').textContent()))
      .toBe(1);
    expect(Number(await page.getByTestId('stat-failed').textContent())).toBe(failedBefore);
    await saveScreenshot(page, 'nextjs-call-now-ended');
    await page.setViewportSize({ width: 390, height: 860 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await saveScreenshot(page, 'nextjs-phone');
    expect(errors).toEqual([]);
    await page.close();
  });
});

it('logged no server errors', () => {
  // Rejected webhooks (401/403/404) are answers, not errors; a crash or a 5xx would show here.
  expect(app.output()).not.toMatch(/⨯|Error|failed/);
});
