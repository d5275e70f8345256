// The leads page: the signed-in user's leads, dialled by @calltrack/dialer, live over Socket.IO.
// The list comes from the dialer's HTTP route (GET /api/dialer/leads); the live stages from the
// dialer's Socket.IO namespace (/dialer): call:started, call:status_updated, call:completed and
// dialer:lead_skipped / run_started / run_finished, for this user's leads only.
import { activeCallPath } from './call-paths.js';
import { maskPhoneNumber, requestJson, statusLabel } from './format.js';

/** One formatter per time zone ('' for the browser's own): making one costs as much as 1,000 uses. */
const clocks = new Map();
const clock = (date, timeZone) => {
  let format = clocks.get(timeZone ?? '');
  if (format === undefined) {
    format = new Intl.DateTimeFormat([], {
      hour: '2-digit',
      minute: '2-digit',
      ...(timeZone ? { timeZone } : {}),
    });
    clocks.set(timeZone ?? '', format);
  }
  return format.format(date);
};

const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

const stageLabels = {
  pending: 'Pending',
  dialing: 'Dialing',
  ringing: 'Ringing',
  'in-progress': 'In call',
  completed: 'Completed',
  skipped: 'Skipped',
  unknown: 'Checking',
  orphaned: 'For review',
};
// A lead's stage only moves forward while its attempt lasts: a late list read or an
// out-of-order update never takes a row back.
const stageRank = {
  pending: 0,
  skipped: 0,
  dialing: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
};

const reasonLabels = {
  invalid_phone: 'Not a valid phone number',
  missing_time_zone: 'No time zone',
  invalid_time_zone: 'Unknown time zone',
  do_not_call: 'On the do-not-call list',
  do_not_call_unavailable: 'Do-not-call list unavailable',
  outside_calling_window: 'Outside calling hours in its time zone',
  attempt_cap: 'Called too many times',
  too_soon: 'Called too recently',
};

/** @type {Map<string, any>} the user's leads (LeadJson), by id */
const leads = new Map();
/** @type {Map<string, {attemptId?: string, stage: string, outcome?: string}>} live, by lead id */
const live = new Map();

function listStage(lead) {
  switch (lead.callStatus) {
    case 'pending':
      return lead.skipReason ? 'skipped' : 'pending';
    case 'dialing':
    case 'placed':
      return 'dialing';
    case 'completed':
      return 'completed';
    default:
      return lead.callStatus; // unknown, orphaned
  }
}

function stageOf(lead) {
  const fromList = listStage(lead);
  const fromLive = live.get(lead.leadId);
  if (fromLive === undefined) return fromList;
  // A live update of an older attempt does not count once the list shows a newer one.
  if (lead.attemptId && fromLive.attemptId && fromLive.attemptId !== lead.attemptId) {
    return fromList;
  }
  return (stageRank[fromLive.stage] ?? 0) > (stageRank[fromList] ?? 0) ? fromLive.stage : fromList;
}

function zoneCell(timeZone, now) {
  if (!timeZone) return '—';
  try {
    const local = clock(now, timeZone);
    return `${timeZone.replaceAll('_', ' ')} · ${local}`;
  } catch {
    return timeZone;
  }
}

function details(lead, stage) {
  if (stage === 'skipped') return reasonLabels[lead.skipReason] ?? lead.skipReason;
  if (stage === 'completed') {
    const outcome = lead.callOutcome ?? live.get(lead.leadId)?.outcome;
    const when = lead.lastAttemptAt ? ` · called at ${clock(new Date(lead.lastAttemptAt))}` : '';
    const label = outcome === 'completed' ? 'Answered' : outcome ? statusLabel(outcome) : 'Done';
    return `${label}${when}`;
  }
  if (stage === 'orphaned') return 'The call may have been placed: review before calling again';
  if (stage === 'unknown') return 'Waiting for the provider to confirm the call';
  if (lead.lastAttemptAt) return `Called at ${clock(new Date(lead.lastAttemptAt))}`;
  return '';
}

/**
 * Writes the lead's row, unless it already shows exactly this: at 1,000 leads, rebuilding every
 * row on each live update blocked the page for a fifth of a second per update.
 */
function renderRow(row, lead, now) {
  const stage = stageOf(lead);
  const number = lead.phoneNumber.startsWith('+')
    ? maskPhoneNumber(lead.phoneNumber)
    : lead.phoneNumber;
  const zone = zoneCell(lead.timeZone, now);
  const detailText = details(lead, stage);
  const shown = JSON.stringify([lead.callStatus, stage, number, zone, detailText, lead.skipReason]);
  if (row.dataset.shown === shown) return stage;
  row.dataset.shown = shown;
  row.dataset.stage = stage;
  row.dataset.callStatus = lead.callStatus;
  row.replaceChildren();
  const cell = (text, className, label) => {
    const td = document.createElement('td');
    if (className) td.className = className;
    if (label) td.dataset.label = label;
    td.textContent = text;
    row.append(td);
    return td;
  };
  cell(lead.leadId, 'lead-id', 'Lead');
  cell(number, 'contact', 'Number');
  cell(zone, 'lead-zone', 'Time zone');
  const statusCell = cell('', 'lead-status', 'Status');
  const pill = document.createElement('span');
  pill.className = `pill stage-${stage}`;
  pill.dataset.testid = 'lead-stage';
  pill.textContent = stageLabels[stage] ?? stage;
  statusCell.append(pill);
  const detail = cell(detailText, 'lead-details', 'Details');
  detail.dataset.testid = 'lead-details';
  if (stage === 'skipped') detail.dataset.reason = lead.skipReason;
  return stage;
}

const byLeadId = new Intl.Collator('en', { numeric: true });

function render() {
  const body = $('lead-rows');
  const rows = new Map([...body.querySelectorAll('tr')].map((row) => [row.dataset.leadId, row]));
  const counts = { pending: 0, dialing: 0, ringing: 0, 'in-progress': 0, completed: 0, skipped: 0 };
  const sorted = [...leads.values()].sort((a, b) => byLeadId.compare(a.leadId, b.leadId));
  const now = new Date();
  for (const [leadId, row] of rows) {
    if (!leads.has(leadId)) row.remove();
  }
  let previous = null;
  for (const lead of sorted) {
    let row = rows.get(lead.leadId);
    if (row === undefined) {
      row = document.createElement('tr');
      row.dataset.leadId = lead.leadId;
      row.className = 'lead-row';
    }
    // Moved only when out of place: the order of the rows is kept without touching them.
    const expected = previous ? previous.nextElementSibling : body.firstElementChild;
    if (expected !== row) {
      if (previous) previous.after(row);
      else body.prepend(row);
    }
    previous = row;
    const stage = renderRow(row, lead, now);
    if (stage in counts) counts[stage] += 1;
  }
  for (const [stage, count] of Object.entries(counts)) {
    document.querySelector(`[data-count="${stage}"]`).textContent = String(count);
  }
  $('leads-empty').hidden = leads.size > 0;
  $('leads').hidden = leads.size === 0;
}

function setMessage(text, kind = 'ok') {
  const element = $('leads-message');
  element.textContent = text;
  element.className = `leads-message is-${kind}`;
}

/** Reads every lead of the user, page by page. */
async function loadLeads() {
  const fresh = new Map();
  let after;
  do {
    const query = new URLSearchParams({ limit: '500', ...(after ? { after } : {}) });
    const page = await requestJson(`/api/dialer/leads?${query}`);
    for (const lead of page.leads) fresh.set(lead.leadId, lead);
    after = page.nextAfter ?? undefined;
  } while (after);
  leads.clear();
  for (const [id, lead] of fresh) leads.set(id, lead);
  render();
  // After a reload, a call in progress shows its status: ask the tracker.
  for (const lead of leads.values()) {
    if (lead.callStatus !== 'placed' || !lead.callId || live.has(lead.leadId)) continue;
    requestJson(activeCallPath(lead.callId))
      .then(({ call }) => {
        const stage =
          call?.status === 'ringing'
            ? 'ringing'
            : call?.status === 'in-progress'
              ? 'in-progress'
              : undefined;
        if (stage) advance(lead.leadId, lead.attemptId, stage);
      })
      .catch(() => {}); // ended meanwhile: the list will say so
  }
}

let reloadTimer;
/** Re-reads the list soon (several updates in a burst cost one read). */
function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(
    () => loadLeads().catch((error) => setMessage(error.message, 'error')),
    250,
  );
}

function advance(leadId, attemptId, stage, outcome) {
  const current = live.get(leadId);
  if (
    current &&
    current.attemptId === attemptId &&
    (stageRank[current.stage] ?? 0) > (stageRank[stage] ?? 0)
  ) {
    return;
  }
  live.set(leadId, { attemptId, stage, ...(outcome ? { outcome } : {}) });
  render();
}

const liveStageOf = (status) =>
  status === 'ringing' ? 'ringing' : status === 'in-progress' ? 'in-progress' : 'dialing';

let socket;
/**
 * The seed's trigger: `leads:fetched` starts a run, or schedules one follow-up run. `before`:
 * what to say first (what loading the list did).
 */
function triggerRun(before = '') {
  return new Promise((resolve) => {
    socket.timeout(10_000).emit('leads:fetched', {}, (error, answer) => {
      const say = (text, kind) => setMessage(`${before}${text}`, kind);
      if (error) say('The server did not answer.', 'error');
      else if (!answer.ok) say(answer.error.message, 'error');
      else if (answer.outcome === 'started') say('Run started.');
      else say('A run is already going: one follow-up run is scheduled after it.');
      resolve(answer);
    });
  });
}

function connect() {
  socket = window.io('/dialer');
  const connection = $('connection-state');
  const setConnection = (state, label) => {
    connection.dataset.state = state;
    connection.querySelector('.connection-label').textContent = `${label} · Socket.IO`;
  };
  let reconnect = false;
  socket.on('connect', () => {
    setConnection('connected', 'Live');
    // The namespace does not replay what happened while the socket was away (a lead dialled,
    // answered, ended; after a server restart, a list that is gone): read the list again.
    if (reconnect) reloadSoon();
    reconnect = true;
  });
  // Socket.IO stops retrying after a refusal or a disconnect by the server (`socket.active`).
  const lost = () =>
    socket.active
      ? setConnection('reconnecting', 'Reconnecting…')
      : setConnection('disconnected', 'Disconnected');
  socket.on('disconnect', lost);
  socket.on('connect_error', lost);
  socket.on('call:started', ({ leadId, attemptId }) => {
    advance(leadId, attemptId, 'dialing');
    reloadSoon();
  });
  socket.on('call:status_updated', ({ leadId, attemptId, status }) =>
    advance(leadId, attemptId, liveStageOf(status)),
  );
  socket.on('call:completed', ({ leadId, attemptId, status }) => {
    advance(leadId, attemptId, 'completed', status);
    reloadSoon();
  });
  socket.on('dialer:lead_skipped', reloadSoon);
  socket.on('dialer:run_started', ({ cause }) => {
    $('run-state').textContent = cause === 'follow_up' ? 'Follow-up run running…' : 'Run running…';
    $('run-state').dataset.state = 'running';
  });
  socket.on('dialer:run_finished', (run) => {
    const parts = [
      run.placed ? `${run.placed} calls placed` : 'no new calls',
      `${run.skipped} leads skipped`,
    ];
    if (run.notClaimed) parts.push(`${run.notClaimed} already being called`);
    let text = `Last run: ${parts.join(', ')}.`;
    if (run.nextRetryAt) {
      text += ` A skipped lead's calling hours open at ${clock(new Date(run.nextRetryAt))}.`;
    }
    $('run-state').textContent = text;
    $('run-state').dataset.state = 'finished';
    reloadSoon();
  });
}

async function loadDemoLeads() {
  const { leads: demoLeads } = await requestJson('/demo-leads.json');
  const { added, existing } = await requestJson('/api/dialer/leads', {
    method: 'POST',
    body: JSON.stringify({ leads: demoLeads }),
  });
  await loadLeads();
  return `${added} leads added${existing ? `, ${existing} already in the list` : ''}. `;
}

async function main() {
  const demo = await requestJson('/demo.json');
  if (!demo.dialer) {
    $('dialer-unavailable').hidden = false;
    $('load-demo-leads').disabled = true;
    $('start-run').disabled = true;
    $('connection-state').hidden = true;
    render();
    return;
  }
  connect();
  $('load-demo-leads').addEventListener('click', async () => {
    try {
      await triggerRun(await loadDemoLeads());
    } catch (error) {
      setMessage(error.message, 'error');
    }
  });
  $('start-run').addEventListener('click', () => triggerRun());
  await loadLeads();
  // As in the seed, a page that read its leads says so (`leads:fetched`) and pending ones are
  // called: a reload mid-run only schedules a follow-up run, which finds them claimed.
  if ([...leads.values()].some((lead) => lead.callStatus === 'pending')) await triggerRun();
  document.body.dataset.ready = 'true';
}

main().catch((error) => setMessage(error.message, 'error'));
