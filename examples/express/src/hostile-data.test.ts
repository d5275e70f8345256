import { signRetellWebhook } from '@calltrack/retell';
import { demoCredentials, demoLines } from '@calltrack/simulator';
import { launchTestBrowser } from '@calltrack/test-utils';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startConsoleApp, stopDemoApps } from './__tests__/start-demo-app';

// The console shows what outsiders wrote: a caller steers Retell's call summary and transcript,
// a provider's fields, an endpoint's name, URL and answer, a lead's fields. Each is fed through
// its real path (signed webhooks, the APIs) as markup that would run if any of it were written
// as HTML; the pages must show it as text.
const browser = await launchTestBrowser();

afterAll(async () => {
  await browser?.close();
});

/** Markup that, written as HTML anywhere, records `tag` (an image's error, a script, a frame). */
const hostile = (tag: string) =>
  `<img src=x onerror="window.pwned.push('${tag}')"><script>window.pwned.push('${tag}-script')</script>` +
  `<iframe srcdoc="<script>parent.pwned.push('${tag}-frame')</script>"></iframe>`;

/** A page with `window.pwned` in place before its scripts run, and the errors it logged. */
async function openWatchedPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const context = await (browser as Browser).newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(() => {
    (window as unknown as { pwned: string[] }).pwned = [];
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => {
    errors.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(url);
  return { page, errors };
}

const pwned = (page: Page) => page.evaluate(() => (window as unknown as { pwned: string[] }).pwned);

/** Elements of the kinds the hostile markup would have made, inside `selector`. */
const injectedElements = (page: Page, selector: string) =>
  page.evaluate(
    (root) => document.querySelector(root)?.querySelectorAll('img, iframe, script').length ?? -1,
    selector,
  );

function postRetell(baseUrl: string, payload: unknown): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${baseUrl}/webhooks/retell`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-retell-signature': signRetellWebhook({ apiKey: demoCredentials.retellApiKey, body }),
    },
    body,
  });
}

/** A Retell call on a demo line whose every free-text field is hostile, from start to analysis. */
async function postHostileRetellCall(baseUrl: string, callId: string): Promise<void> {
  const line = demoLines.find((candidate) => candidate.provider === 'retell')!.number;
  const now = Date.now();
  const call = {
    call_type: 'phone_call',
    from_number: '+12125550148',
    to_number: line,
    direction: 'inbound',
    call_id: callId,
    agent_id: 'agent_demo',
    metadata: { note: hostile('metadata') },
    start_timestamp: now - 12_000,
  };
  const ended = {
    ...call,
    call_status: 'ended',
    end_timestamp: now,
    duration_ms: 12_000,
    disconnection_reason: hostile('reason'),
    transcript: `Agent: hello\nUser: ${hostile('transcript')}\n${hostile('transcript-line')}`,
    recording_url: `javascript:window.pwned.push('recording-url')`,
  };
  const analysis = {
    call_summary: hostile('summary'),
    user_sentiment: hostile('sentiment'),
    call_successful: true,
    custom_analysis_data: { [hostile('custom-name')]: hostile('custom-value') },
  };
  for (const payload of [
    { event: 'call_started', call: { ...call, call_status: 'ongoing' } },
    { event: 'call_ended', call: ended },
    { event: 'call_analyzed', call: { ...ended, call_analysis: analysis } },
  ]) {
    const answer = await postRetell(baseUrl, payload);
    expect(answer.status, `${payload.event}: ${await answer.text()}`).toBeLessThan(300);
  }
}

describe.skipIf(!browser)('hostile data on the console’s pages (Chromium)', () => {
  afterEach(stopDemoApps);

  it('shows a caller-steered Retell summary, transcript and fields as text, live and reloaded', async () => {
    const demo = await startConsoleApp();
    // Before the page opens: the recent list and the drawer read it from the API.
    await postHostileRetellCall(demo.url, 'call_hostile_before');
    const { page, errors } = await openWatchedPage(
      `${demo.url}/?popupMs=60000#call=call_hostile_before`,
    );
    await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();
    // Live: the toast, the popup and the recent list fill from the stream.
    await postHostileRetellCall(demo.url, 'call_hostile_live');
    await page.locator('[data-testid="recent-call"][data-call-id="call_hostile_live"]').waitFor();
    await page.evaluate(() => {
      location.hash = '#call=call_hostile_live';
    });
    const drawer = page.getByTestId('call-drawer');
    await page
      .locator('[data-testid="call-drawer"][data-call-id="call_hostile_live"][data-loaded]')
      .waitFor();
    await page.getByTestId('drawer-analysis-section').waitFor();
    await page.getByTestId('drawer-transcript-section').waitFor();
    // Shown, as text: the summary, the custom field's name and value, the transcript, the reason.
    const text = (await drawer.textContent()) ?? '';
    for (const tag of ['summary', 'sentiment', 'custom-name', 'custom-value', 'transcript']) {
      expect(text, tag).toContain(`window.pwned.push('${tag}')`);
    }
    expect(text).toContain("push('reason')");
    expect(await injectedElements(page, '[data-testid="call-drawer"]')).toBe(0);
    expect(await injectedElements(page, 'main')).toBe(0);
    // The player plays the app's route, never the webhook's URL.
    expect(await page.getByTestId('drawer-recording').getAttribute('src')).toBe(
      '/api/calls/call_hostile_live/recording',
    );
    expect(await pwned(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('shows an endpoint’s name, URL and failed delivery, and hostile leads, as text', async () => {
    const demo = await startConsoleApp();
    const created = await fetch(`${demo.url}/api/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        url: `https://hostile.invalid/${encodeURIComponent(hostile('url'))}`,
        description: hostile('description'),
        events: ['call.*'],
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { page, errors } = await openWatchedPage(`${demo.url}/webhooks.html?refreshMs=500`);
    const endpoint = page.locator('[data-testid="endpoint"]', {
      hasText: "push('description')",
    });
    await endpoint.getByTestId('send-test').click();
    await page.getByTestId('attempts-message').filter({ hasText: /Test/ }).waitFor();
    await endpoint.locator('[data-action="select"]').click();
    await page.locator('[data-testid="attempt"][data-status="failed"]').first().waitFor();
    expect(await page.getByTestId('attempts-endpoint').textContent()).toContain(
      "push('description')",
    );
    expect(await injectedElements(page, 'main')).toBe(0);
    expect(await pwned(page)).toEqual([]);

    const leads = await fetch(`${demo.url}/api/dialer/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        leads: [
          {
            leadId: hostile('lead-id').slice(0, 100),
            phoneNumber: hostile('phone').slice(0, 60),
            timeZone: hostile('zone').slice(0, 60),
          },
        ],
      }),
    });
    expect(leads.status, await leads.clone().text()).toBeLessThan(300);
    const leadsPage = await openWatchedPage(`${demo.url}/leads.html`);
    await leadsPage.page.locator('body[data-ready="true"]').waitFor();
    await leadsPage.page.locator('tr.lead-row').first().waitFor();
    expect(await leadsPage.page.locator('tr.lead-row').first().textContent()).toContain('<img');
    expect(await injectedElements(leadsPage.page, 'main')).toBe(0);
    expect(await pwned(leadsPage.page)).toEqual([]);
    expect(errors).toEqual([]);
    expect(leadsPage.errors).toEqual([]);
  });
});
