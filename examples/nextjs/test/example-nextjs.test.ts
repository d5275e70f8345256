import { existsSync } from 'node:fs';
import { createSimulator, type SimulatorProvider } from '@calltrack/simulator';
import {
  browserRequired,
  chromiumPath,
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

beforeAll(async () => {
  app = await startNextApp();
  if (browserAvailable) browser = await launchTestBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
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
    expect(await popup.getByTestId('popup-status').textContent()).toBe('completed');
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
    expect(await popup.getByTestId('popup-recording').getAttribute('href')).toMatch(
      /^https:\/\/api\.twilio\.com\/.+\/Recordings\/RE/,
    );

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

it('logged no server errors', () => {
  // Rejected webhooks (401/403/404) are answers, not errors; a crash or a 5xx would show here.
  expect(app.output()).not.toMatch(/⨯|Error|failed/);
});
