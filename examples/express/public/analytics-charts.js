// The analytics panel: the tracker's `/api/calls/analytics`, drawn with Chart.js (served by the
// app from node_modules as /vendor/chart.js/chart.umd.min.js: nothing comes from the internet).
import { formatDuration, statusLabels } from './format.js';

const colors = {
  started: '#2563eb',
  answered: '#16a34a',
  completed: '#16a34a',
  busy: '#d97706',
  'no-answer': '#a855f7',
  failed: '#dc2626',
  canceled: '#64748b',
  duration: '#0891b2',
  peak: '#e11d48',
};
const charts = new Map();
const $ = (selector) => document.querySelector(selector);
const percent = (value) =>
  value === null || value === undefined ? '—' : `${Math.round(value * 100)}%`;

const hourLabel = (iso) =>
  new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dayLabel = (iso) =>
  new Date(iso).toLocaleDateString([], { weekday: 'short', day: 'numeric' });

/**
 * The rates the console shows, from the tracker's figures. Every ended call counts once:
 * answered ones in the answer rate; `canceled` (the caller hung up, or the call was ended,
 * before anyone answered) in the abandon rate; `failed` in the failure rate. Busy and no-answer
 * are neither answered nor failed, so they are counted on their own.
 */
export function callRates(figures) {
  const ended = figures.endedCalls;
  const byStatus = figures.endedByStatus ?? {};
  const share = (count) => (ended > 0 ? (count ?? 0) / ended : null);
  return {
    ended,
    answer: share(figures.answeredCalls),
    abandon: share(byStatus.canceled),
    failure: share(byStatus.failed),
    busy: byStatus.busy ?? 0,
    noAnswer: byStatus['no-answer'] ?? 0,
  };
}

function upsertChart(name, config) {
  const canvas = $(`canvas[data-chart="${name}"]`);
  if (!canvas || typeof window.Chart !== 'function') return;
  const existing = charts.get(name);
  if (existing) {
    existing.data = config.data;
    existing.update('none');
  } else {
    charts.set(
      name,
      new window.Chart(canvas, {
        ...config,
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, font: { size: 11 } } } },
          ...config.options,
        },
      }),
    );
  }
  canvas.dataset.rendered = 'true';
  canvas.dataset.points = String(
    config.data.datasets.reduce(
      (sum, set) => sum + set.data.filter((value) => value > 0).length,
      0,
    ),
  );
}

/** Minutes, or null for a bucket without answered calls: a gap in the line, not a zero. */
const minutes = (ms) => (ms === null ? null : Math.round((ms / 60_000) * 10) / 10);
const durationAxis = {
  y: {
    beginAtZero: true,
    ticks: { callback: (value) => formatDuration(Number(value) * 60_000) },
  },
};

function render(hourly, daily) {
  const rates = callRates(hourly.totals);
  const kpi = (name, text) => {
    const element = $(`[data-kpi="${name}"]`);
    if (element) element.textContent = text;
  };
  kpi('ended', String(rates.ended));
  kpi('answer', percent(rates.answer));
  kpi('abandon', percent(rates.abandon));
  kpi('failure', percent(rates.failure));
  kpi('busy', String(rates.busy));
  kpi('no-answer', String(rates.noAnswer));
  kpi('peak', String(hourly.totals.peakConcurrentCalls));
  kpi(
    'average',
    hourly.totals.averageDurationMs === null
      ? '—'
      : formatDuration(hourly.totals.averageDurationMs),
  );

  const hours = hourly.buckets.map((bucket) => hourLabel(bucket.start));
  upsertChart('calls-per-hour', {
    type: 'bar',
    data: {
      labels: hours,
      datasets: [
        {
          label: 'Started',
          data: hourly.buckets.map((b) => b.startedCalls),
          backgroundColor: colors.started,
        },
        {
          label: 'Answered',
          data: hourly.buckets.map((b) => b.answeredCalls),
          backgroundColor: colors.answered,
        },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const statuses = ['completed', 'busy', 'no-answer', 'failed', 'canceled'];
  upsertChart('outcomes', {
    type: 'doughnut',
    data: {
      labels: statuses.map((status) => statusLabels[status]),
      datasets: [
        {
          label: 'Ended calls',
          data: statuses.map((status) => hourly.totals.endedByStatus?.[status] ?? 0),
          backgroundColor: statuses.map((status) => colors[status]),
        },
      ],
    },
    options: { plugins: { legend: { position: 'right', labels: { boxWidth: 10 } } } },
  });
  upsertChart('duration-by-hour', {
    type: 'line',
    data: {
      labels: hours,
      datasets: [
        {
          label: 'Average talk time (min)',
          data: hourly.buckets.map((b) => minutes(b.averageDurationMs)),
          borderColor: colors.duration,
          backgroundColor: colors.duration,
          tension: 0.3,
          spanGaps: false,
        },
      ],
    },
    options: { scales: durationAxis },
  });
  upsertChart('duration-by-day', {
    type: 'bar',
    data: {
      labels: daily.buckets.map((bucket) => dayLabel(bucket.start)),
      datasets: [
        {
          label: 'Average talk time (min)',
          data: daily.buckets.map((b) => minutes(b.averageDurationMs)),
          backgroundColor: colors.duration,
        },
      ],
    },
    options: { scales: durationAxis },
  });
  upsertChart('peak', {
    type: 'line',
    data: {
      labels: hours,
      datasets: [
        {
          label: 'Most calls at once',
          data: hourly.buckets.map((b) => b.peakConcurrentCalls),
          borderColor: colors.peak,
          backgroundColor: colors.peak,
          stepped: true,
        },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  $('[data-testid="analytics"]').dataset.loaded = 'true';
}

let timer;
let loading = false;

/** Loads the last 24 hours by hour and the last 7 days by day, and draws them. */
export async function loadAnalytics() {
  if (loading) return;
  loading = true;
  try {
    const now = Date.now();
    const [hourly, daily] = await Promise.all([
      fetch(`/api/calls/analytics?granularity=hour&from=${now - 24 * 3_600_000}&to=${now}`).then(
        (r) => r.json(),
      ),
      fetch(`/api/calls/analytics?granularity=day&from=${now - 7 * 86_400_000}&to=${now}`).then(
        (r) => r.json(),
      ),
    ]);
    if (hourly.buckets && daily.buckets) render(hourly, daily);
  } catch (error) {
    console.warn('analytics', error);
  } finally {
    loading = false;
  }
}

/**
 * Reloads a moment after a call ends, at most once per `delayMs` (a throttle, not a debounce: at
 * volume calls end every second, and a debounce would never fire), and every minute anyway.
 */
export function scheduleAnalytics(delayMs = 2_000) {
  if (timer !== undefined) return;
  timer = setTimeout(() => {
    timer = undefined;
    void loadAnalytics();
  }, delayMs);
}
setInterval(loadAnalytics, 60_000);
