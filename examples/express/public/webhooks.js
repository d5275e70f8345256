// The outbound webhooks page: the tenant's endpoints with their stats, the delivery log of the
// selected one (every HTTP attempt, with resend), and the dead-letter list; refreshed every 3 s.
import { formatTime, positiveNumber, requestJson } from './format.js';

const $ = (testId, root = document) => root.querySelector(`[data-testid="${testId}"]`);
const params = new URLSearchParams(location.search);
const refreshMs = positiveNumber(params.get('refreshMs'), 3_000);
let selected;

const percent = (rate) => (rate === null ? '—' : `${Math.round(rate * 100)}%`);

/**
 * What each list last showed: a refresh that brings the same data leaves the list alone, so
 * the button under the pointer or the keyboard's focus is not swapped for a copy every 3 s.
 */
const shown = { endpoints: '', attempts: '', failed: '' };
/** True (and remembered) when `data` differs from what `list` shows. */
function changed(list, data) {
  const key = JSON.stringify(data);
  if (shown[list] === key) return false;
  shown[list] = key;
  return true;
}

function renderEndpoints(endpoints, statsById) {
  // `since` (the start of the stats' window) moves with every read and is not shown.
  const shownStats = [...statsById].map(([id, stats]) => [id, stats && { ...stats, since: 0 }]);
  if (!changed('endpoints', [endpoints, shownStats, selected])) return;
  const container = $('endpoints');
  container.replaceChildren();
  $('endpoints-empty').hidden = endpoints.length > 0;
  for (const endpoint of endpoints) {
    const stats = statsById.get(endpoint.id);
    const card = document.createElement('article');
    card.className = 'endpoint';
    card.dataset.testid = 'endpoint';
    card.dataset.endpointId = endpoint.id;
    card.setAttribute('aria-current', String(endpoint.id === selected));
    card.innerHTML =
      '<div class="endpoint-head"><span class="pill"></span><strong class="endpoint-description"></strong></div>' +
      '<code class="endpoint-url"></code><div class="muted endpoint-events"></div>' +
      '<dl class="facts endpoint-stats"></dl>' +
      '<div class="endpoint-actions"><button type="button" class="link-button" data-action="select">Show attempts</button>' +
      '<button type="button" class="link-button" data-action="test" data-testid="send-test">Send a test</button></div>';
    const pill = card.querySelector('.pill');
    pill.textContent = endpoint.enabled
      ? 'Enabled'
      : `Disabled${endpoint.disabled ? ` (${endpoint.disabled.reason})` : ''}`;
    pill.className = `pill ${endpoint.enabled ? 'status-in-progress' : 'status-failed'}`;
    card.querySelector('.endpoint-description').textContent = endpoint.description || endpoint.id;
    card.querySelector('.endpoint-url').textContent = endpoint.url;
    card.querySelector('.endpoint-events').textContent = `Events: ${endpoint.events.join(', ')}`;
    const facts = card.querySelector('.endpoint-stats');
    const fact = (label, value, testId) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      if (testId) dd.dataset.testid = testId;
      facts.append(dt, dd);
    };
    if (stats) {
      fact(
        'Attempts (24 h)',
        `${stats.attempts} (${stats.succeeded} ok, ${stats.failed} failed)`,
        'endpoint-attempts',
      );
      fact('Success rate', percent(stats.successRate), 'endpoint-success-rate');
      fact(
        'Latency',
        stats.latencyMs ? `p50 ${stats.latencyMs.p50} ms · p95 ${stats.latencyMs.p95} ms` : '—',
      );
      fact(
        'Last error',
        stats.lastError
          ? `${stats.lastError.message} at ${formatTime(stats.lastError.at)}`
          : 'none',
      );
    }
    card.querySelector('[data-action="select"]').addEventListener('click', () => {
      selected = endpoint.id;
      void refresh();
    });
    card.querySelector('[data-action="test"]').addEventListener('click', async () => {
      try {
        const { attempt } = await requestJson(`/api/webhooks/${endpoint.id}/test`, {
          method: 'POST',
        });
        say(
          `Test sent: ${attempt.status} (HTTP ${attempt.statusCode}).`,
          attempt.status === 'succeeded',
        );
      } catch (error) {
        say(`Test not sent: ${error.message}`, false);
      }
      void refresh();
    });
    container.append(card);
  }
}

function say(text, ok) {
  const message = $('attempts-message');
  message.textContent = text;
  message.className = `form-message ${ok ? 'is-ok' : 'is-error'}`;
}

function renderAttempts(attempts) {
  if (!changed('attempts', attempts)) return;
  const body = document.getElementById('attempt-rows');
  body.replaceChildren();
  $('attempts-empty').hidden = attempts.length > 0;
  for (const attempt of attempts) {
    const row = document.createElement('tr');
    row.dataset.testid = 'attempt';
    row.dataset.status = attempt.status;
    row.dataset.messageId = attempt.messageId;
    const cells = [
      formatTime(attempt.startedAt),
      attempt.eventType,
      `#${attempt.attempt} · ${attempt.trigger}`,
      '',
      `${attempt.durationMs} ms`,
      attempt.nextAttemptAt ? formatTime(attempt.nextAttemptAt) : '—',
      '',
    ];
    for (const [index, text] of cells.entries()) {
      const cell = document.createElement('td');
      cell.textContent = text;
      if (index === 4) cell.className = 'numeric';
      row.append(cell);
    }
    const result = document.createElement('span');
    result.className = `pill ${attempt.status === 'succeeded' ? 'status-completed' : 'status-failed'}`;
    result.dataset.testid = 'attempt-status';
    result.textContent =
      attempt.statusCode > 0 ? `${attempt.statusCode}` : (attempt.error ?? 'no response');
    if (attempt.error && attempt.statusCode > 0) result.title = attempt.error;
    row.children[3].append(result);
    const resend = document.createElement('button');
    resend.type = 'button';
    resend.className = 'link-button';
    resend.dataset.testid = 'resend';
    resend.textContent = 'Resend';
    resend.addEventListener('click', async () => {
      resend.disabled = true;
      try {
        await requestJson(`/api/webhooks/${attempt.endpointId}/resend`, {
          method: 'POST',
          body: JSON.stringify({ messageId: attempt.messageId }),
        });
        say(`Queued ${attempt.eventType} (${attempt.messageId}) again.`, true);
      } catch (error) {
        say(`Not resent: ${error.message}`, false);
      }
      // Enabled again by the page, not by a rebuild of the rows: a refresh that changes nothing
      // (a refused resend) leaves the rows as they are.
      setTimeout(() => {
        resend.disabled = false;
        void refresh();
      }, 300);
    });
    row.children[6].append(resend);
    body.append(row);
  }
}

function renderFailed(deliveries) {
  if (!changed('failed', deliveries)) return;
  const list = $('failed-deliveries');
  list.replaceChildren();
  $('failed-empty').hidden = deliveries.length > 0;
  for (const delivery of deliveries) {
    const item = document.createElement('li');
    item.className = 'recent-item';
    item.dataset.testid = 'failed-delivery';
    item.textContent = `${delivery.eventType} · ${delivery.attempts} attempts · ${delivery.lastError ?? ''} · ${formatTime(delivery.updatedAt)}`;
    list.append(item);
  }
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const { endpoints } = await requestJson('/api/webhooks');
    if (!endpoints.some((endpoint) => endpoint.id === selected)) selected = endpoints[0]?.id;
    const stats = await Promise.all(
      endpoints.map((endpoint) =>
        requestJson(`/api/webhooks/${endpoint.id}/stats`).then(({ stats }) => [endpoint.id, stats]),
      ),
    );
    renderEndpoints(endpoints, new Map(stats));
    if (selected) {
      const [{ attempts }, { deliveries }] = await Promise.all([
        requestJson(`/api/webhooks/${selected}/logs?limit=50`),
        requestJson(`/api/webhooks/failed?endpointId=${selected}&limit=20`),
      ]);
      $('attempts-endpoint').textContent =
        `· ${endpoints.find((e) => e.id === selected)?.description ?? ''}`;
      renderAttempts(attempts);
      renderFailed(deliveries);
    }
    $('refreshed').textContent = `Updated ${formatTime(new Date().toISOString())}`;
  } catch (error) {
    $('refreshed').textContent = `Could not load: ${error.message}`;
  } finally {
    refreshing = false;
  }
}

await refresh();
setInterval(refresh, refreshMs);
