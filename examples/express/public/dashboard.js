// The calltrack operations console: plain browser JavaScript modules, no build step.
//
// State is the tenant's active calls, keyed by call id. It starts from a snapshot (the first
// `snapshot` SSE event, or Socket.IO's `active_calls`) and every live event carries the call as
// the tracker sees it after that event (`event.data.call`, with a `version` that only grows), so
// applying an event means "keep the higher version; drop the call when it ended". The buttons
// (hang-up, click-to-call) only send requests: the screen changes with the webhooks that follow.
//
// Query parameters: `transport=socket.io` (default SSE), `popupMs` (how long the call-completed
// popup stays, default 10 s), `toastMs` (default 4 s).
import { createAlertsPanel } from './alerts-panel.js';
import { loadAnalytics, scheduleAnalytics } from './analytics-charts.js';
import { createCallDrawer } from './call-drawer.js';
import { callPath } from './call-paths.js';
import {
  answeredByMachine,
  branchLabel,
  contactNumber,
  displayStatus,
  formatDuration,
  formatTime,
  positiveNumber,
  providerLabel,
  requestJson,
  setPill,
  startTime,
} from './format.js';
import { createNotifications } from './notifications.js';
import { openResumableEventSource } from './resumable-event-source.js';

const params = new URLSearchParams(location.search);
const transport = params.get('transport') === 'socket.io' ? 'socket.io' : 'sse';
const popupMs = positiveNumber(params.get('popupMs'), 10_000);
const toastMs = positiveNumber(params.get('toastMs'), 4_000);
/** Providers whose API can end a call (CallerDesk's cannot: the tracker answers 501). */
const canEndCalls = new Set(['twilio', 'retell']);

/** callId → the call (CallSnapshot) */
const calls = new Map();
/** callId → the version at which it ended, so an older snapshot cannot bring it back. */
const ended = new Map();
/** Event ids already shown as a toast or popup (a reload may deliver an event again). */
const announced = new Set();
/** callIds whose hang-up was sent, until the call ends. */
const hangingUp = new Set();
let branches = [];
let lines = [];
let callControl = false;
/** The branch the table is filtered to, or undefined for all. */
let branchFilter;

const $ = (testId, root = document) => root.querySelector(`[data-testid="${testId}"]`);
const rowsBody = document.getElementById('call-rows');
const rowTemplate = document.getElementById('call-row-template');

/** How long the call has been in its current phase: talking, or ringing / dialing. */
function runningDuration(call, now) {
  const since = call.status === 'in-progress' ? call.answeredAt : call.startedAt;
  const start = Date.parse(since ?? call.createdAt);
  return Number.isNaN(start) ? 0 : now - start;
}

// ---------------------------------------------------------------------------------------------
// State

function eventCall(event) {
  const call = event.data?.call;
  return call && typeof call.callId === 'string' && typeof call.version === 'number'
    ? call
    : undefined;
}

/** Applies one version of a call; `hasEnded` for a `call.ended` event. */
function applyCall(call, hasEnded) {
  const endedAt = ended.get(call.callId);
  if (endedAt !== undefined && endedAt >= call.version) return;
  const current = calls.get(call.callId);
  if (current && current.version >= call.version) return;
  if (hasEnded || call.active === false) {
    calls.delete(call.callId);
    hangingUp.delete(call.callId);
    ended.set(call.callId, call.version);
    if (ended.size > 2_000) ended.delete(ended.keys().next().value);
    return;
  }
  calls.set(call.callId, call);
}

/** Replaces the active calls with a snapshot, keeping newer versions we already hold. */
function applySnapshot(snapshot) {
  const previous = new Map(calls);
  calls.clear();
  for (const call of snapshot) {
    const endedAt = ended.get(call.callId);
    if (call.active === false || (endedAt !== undefined && endedAt >= call.version)) continue;
    const current = previous.get(call.callId);
    calls.set(call.callId, current && current.version > call.version ? current : call);
  }
  render();
}

function applyEvent(event) {
  if (event.type.startsWith('alert.')) {
    alertsPanel.add(event);
    return;
  }
  const call = eventCall(event);
  if (call) applyCall(call, event.type === 'call.ended');
  else if (event.type === 'call.ended' && event.callId) calls.delete(event.callId);
  render();
  if (event.callId) drawer.onEvent(event.callId);

  if (announced.has(event.id)) return;
  announced.add(event.id);
  if (announced.size > 2_000) announced.delete(announced.values().next().value);

  const details = call ?? { callId: event.callId, provider: event.provider, ...event };
  if (event.type === 'call.answered' && !answeredByMachine(details)) showToast(details);
  if (event.type === 'call.ended') {
    showPopup(details);
    addRecent(details);
    scheduleAnalytics();
  }
  if (event.type === 'call.recording' || (call?.recordingUrl && event.type !== 'call.ended')) {
    if (call?.recordingUrl || event.data?.recordingUrl) showRecording(event.callId);
  }
  if (call && notifications.isShown(call.callId) && !call.active) {
    // A late AMD result or analysis changes how an ended call reads (voicemail, not completed).
    refreshEnded(call);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function newestFirst(a, b) {
  return startTime(b) - startTime(a) || (a.callId < b.callId ? -1 : 1);
}

function render() {
  const all = [...calls.values()].sort(newestFirst);
  const shown = branchFilter ? all.filter((call) => call.branchId === branchFilter) : all;
  const now = Date.now();
  const keep = new Set(shown.map((call) => call.callId));
  for (const row of [...rowsBody.children]) {
    if (!keep.has(row.dataset.callId)) row.remove();
  }
  let previous = null;
  for (const call of shown) {
    let row = rowsBody.querySelector(`tr[data-call-id="${CSS.escape(call.callId)}"]`);
    if (!row) row = createRow(call);
    if (
      row.dataset.version !== String(call.version) ||
      row.dataset.hangingUp !== String(hangingUp.has(call.callId))
    ) {
      updateRow(row, call);
    }
    updateDuration(row, call, now);
    const expectedPosition = previous ? previous.nextElementSibling : rowsBody.firstElementChild;
    if (expectedPosition !== row) {
      if (previous) previous.after(row);
      else rowsBody.prepend(row);
    }
    previous = row;
  }
  $('empty-state').hidden = shown.length > 0;
  $('empty-state').textContent = branchFilter
    ? `No active calls on ${branchLabel(branchFilter)} right now.`
    : 'No active calls right now. They show up here the moment a provider webhook arrives.';
  renderCounts(all);
  renderCounterDropdown(all);
}

function createRow(call) {
  const row = rowTemplate.content.firstElementChild.cloneNode(true);
  row.dataset.callId = call.callId;
  row.classList.add('is-new');
  row.addEventListener('click', (event) => {
    if (event.target.closest('button')) return;
    openCall(row.dataset.callId);
  });
  row.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target === row) openCall(row.dataset.callId);
  });
  $('hangup', row).addEventListener('click', () => hangUp(row.dataset.callId));
  return row;
}

function updateRow(row, call) {
  row.dataset.version = String(call.version);
  row.dataset.status = call.status ?? '';
  const status = displayStatus(call);
  row.dataset.display = status ?? '';
  setPill($('call-status', row), status);
  $('call-contact', row).textContent = contactNumber(call);
  $('call-direction', row).textContent =
    call.direction === 'inbound' ? '↘ inbound' : call.direction === 'outbound' ? '↗ outbound' : '';
  $('call-branch', row).textContent = branchLabel(call.branchId);
  const provider = $('call-provider', row);
  provider.textContent = providerLabel(call.provider);
  provider.dataset.provider = call.provider;
  $('call-started', row).textContent = formatTime(call.startedAt ?? call.createdAt);
  $('call-duration-kind', row).textContent =
    status === 'machine'
      ? 'machine'
      : call.status === 'in-progress'
        ? 'talking'
        : call.status === 'ringing'
          ? 'ringing'
          : 'dialing';
  const button = $('hangup', row);
  const pending = hangingUp.has(call.callId);
  row.dataset.hangingUp = String(pending);
  button.hidden = !callControl;
  button.disabled = pending || !canEndCalls.has(call.provider);
  button.textContent = pending ? 'Ending…' : 'Hang up';
  button.title = canEndCalls.has(call.provider)
    ? 'End this call through the provider'
    : `${providerLabel(call.provider)}'s API cannot end calls`;
}

function updateDuration(row, call, now) {
  const text = formatDuration(runningDuration(call, now));
  const element = $('call-duration', row);
  if (element.textContent !== text) element.textContent = text;
}

function renderCounts(all) {
  const byStatus = { queued: 0, ringing: 0, 'in-progress': 0 };
  const byBranch = new Map(branches.map((branch) => [branch, 0]));
  for (const call of all) {
    if (call.status in byStatus) byStatus[call.status] += 1;
    if (call.branchId) byBranch.set(call.branchId, (byBranch.get(call.branchId) ?? 0) + 1);
  }
  setText($('count-total'), String(all.length));
  setText($('count-queued'), String(byStatus.queued));
  setText($('count-ringing'), String(byStatus.ringing));
  setText($('count-live'), String(byStatus['in-progress']));
  setText($('global-count'), String(all.length));
  $('global-counter').classList.toggle('is-busy', all.length > 0);

  const grid = $('branch-counts');
  for (const [branch, count] of byBranch) {
    let card = grid.querySelector(`[data-branch="${CSS.escape(branch)}"]`);
    if (!card) {
      card = document.createElement('button');
      card.type = 'button';
      card.className = 'branch';
      card.dataset.testid = 'branch-count';
      card.dataset.branch = branch;
      card.innerHTML =
        '<span class="branch-pulse" aria-hidden="true"></span><span class="branch-name"></span><span class="branch-value"></span>';
      card.querySelector('.branch-name').textContent = branchLabel(branch);
      card.addEventListener('click', () =>
        setBranchFilter(branchFilter === branch ? undefined : branch),
      );
      grid.append(card);
    }
    card.classList.toggle('is-busy', count > 0);
    card.dataset.count = String(count);
    card.setAttribute('aria-pressed', String(branchFilter === branch));
    card.setAttribute('aria-label', `${branchLabel(branch)}: ${count} active; filter the calls`);
    setText(card.querySelector('.branch-value'), String(count));
  }
}

function setBranchFilter(branch) {
  branchFilter = branch;
  const chip = $('branch-filter');
  chip.hidden = !branch;
  chip.textContent = branch ? `${branchLabel(branch)} ×` : '';
  render();
}
$('branch-filter').addEventListener('click', () => setBranchFilter(undefined));

/** Calls listed in the counter's dropdown, newest first (the table has them all). */
const maxDropdownCalls = 30;

function renderCounterDropdown(all) {
  const list = $('counter-calls');
  if ($('counter-dropdown').hidden) return;
  // Updated in place, not rebuilt: at volume events come several a second, and a rebuilt list
  // swapped the button under the pointer (the click was lost) and dropped the keyboard's focus.
  const items = new Map(
    [...list.querySelectorAll('[data-testid="counter-call"]')].map((button) => [
      button.dataset.callId,
      button.parentElement,
    ]),
  );
  const shown = all.slice(0, maxDropdownCalls);
  const keep = new Set(shown.map((call) => call.callId));
  for (const [callId, item] of items) if (!keep.has(callId)) item.remove();
  list.querySelector('[data-testid="counter-more"]')?.remove();
  let previous = null;
  for (const call of shown) {
    let item = items.get(call.callId);
    if (!item) {
      item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'dropdown-item';
      button.dataset.testid = 'counter-call';
      button.dataset.callId = call.callId;
      button.append(document.createElement('span'), document.createElement('span'));
      button.addEventListener('click', () => {
        toggleDropdown(false);
        openCall(call.callId);
      });
      item.append(button);
    }
    const [pill, text] = item.firstElementChild.children;
    setPill(pill, displayStatus(call));
    setText(text, `${contactNumber(call)} · ${branchLabel(call.branchId)}`);
    const expected = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expected !== item) {
      if (previous) previous.after(item);
      else list.prepend(item);
    }
    previous = item;
  }
  // The header says how many calls there are: the list must not quietly stop short of it.
  if (all.length > shown.length) {
    const more = document.createElement('li');
    more.className = 'dropdown-more muted';
    more.dataset.testid = 'counter-more';
    more.textContent = `${all.length - shown.length} more in the calls table`;
    list.append(more);
  }
  $('counter-empty').hidden = all.length > 0;
}

function toggleDropdown(open) {
  const dropdown = $('counter-dropdown');
  dropdown.hidden = !open;
  $('global-counter').setAttribute('aria-expanded', String(open));
  if (open) renderCounterDropdown([...calls.values()].sort(newestFirst));
}
$('global-counter').addEventListener('click', (event) => {
  event.stopPropagation();
  toggleDropdown($('counter-dropdown').hidden);
});
document.addEventListener('click', (event) => {
  if (!event.target.closest('.global-counter')) toggleDropdown(false);
});

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** Once a second: the running durations. */
function tick() {
  const now = Date.now();
  for (const row of rowsBody.children) {
    const call = calls.get(row.dataset.callId);
    if (call) updateDuration(row, call, now);
  }
}

// ---------------------------------------------------------------------------------------------
// Call control: requests only; the webhooks that follow change the screen.

function openCall(callId) {
  void drawer.open(callId, calls.get(callId));
}

/** `#call=<id>` opens that call's details: a link to a call can be shared. */
function openCallFromHash() {
  const match = /^#call=(.+)$/.exec(location.hash);
  if (!match) return;
  let callId;
  try {
    callId = decodeURIComponent(match[1]);
  } catch {
    // Not percent-encoded UTF-8 (a mangled link): no call to open, and the page goes on loading.
    return;
  }
  openCall(callId);
}
window.addEventListener('hashchange', openCallFromHash);

async function hangUp(callId) {
  if (!callId || hangingUp.has(callId)) return;
  hangingUp.add(callId);
  render();
  try {
    await requestJson(callPath(callId, 'terminate'), { method: 'POST' });
  } catch (error) {
    hangingUp.delete(callId);
    render();
    showNotice(`Could not hang up: ${error.message}`, 'error');
  }
}

function setUpDialForm() {
  const panel = $('click-to-call');
  panel.hidden = !callControl;
  if (!callControl) return;
  const select = $('dial-line');
  for (const line of lines) {
    const option = document.createElement('option');
    option.value = `${line.provider} ${line.number}`;
    option.textContent = `${providerLabel(line.provider)} · ${branchLabel(line.branchId)} (${maskPhoneTail(line.number)})`;
    select.append(option);
  }
  const agentField = $('dial-agent-field');
  const syncAgent = () => {
    agentField.hidden = !select.value.startsWith('callerdesk ');
  };
  select.addEventListener('change', syncAgent);
  syncAgent();
  const form = $('dial-form');
  const message = $('dial-message');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const to = String(data.get('to') ?? '').trim();
    const [provider, from] = String(data.get('line')).split(' ');
    const agentNumber = String(data.get('agentNumber') ?? '').trim();
    message.className = 'form-message';
    if (!/^\+[1-9]\d{6,14}$/.test(to)) {
      message.textContent = 'Enter the number in international form, e.g. +14155550123.';
      message.classList.add('is-error');
      return;
    }
    if (provider === 'callerdesk' && !/^\+[1-9]\d{6,14}$/.test(agentNumber)) {
      message.textContent = "CallerDesk rings an agent first: enter the agent's number.";
      message.classList.add('is-error');
      return;
    }
    const button = $('dial-submit');
    button.disabled = true;
    button.textContent = 'Calling…';
    message.textContent = '';
    try {
      const { call } = await requestJson('/api/calls', {
        method: 'POST',
        body: JSON.stringify({
          provider,
          to,
          from,
          ...(provider === 'callerdesk' ? { agentNumber } : {}),
          requestId:
            crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`,
        }),
      });
      form.dataset.lastCallId = call.callId ?? '';
      message.textContent = `Placed through ${providerLabel(call.provider)}: it appears above as it rings.`;
      message.classList.add('is-ok');
      form.reset();
      syncAgent();
    } catch (error) {
      message.textContent = `Not placed: ${error.message}`;
      message.classList.add('is-error');
    } finally {
      button.disabled = false;
      button.textContent = 'Call';
    }
  });
}

/** A business line, shown with its last 4 digits only. */
const maskPhoneTail = (number) => `…${number.slice(-4)}`;

const drawer = createCallDrawer({
  onHangUp: (callId) => hangUp(callId),
  canHangUp: () => callControl,
});
const alertsPanel = createAlertsPanel({ onOpenCall: openCall });
const notifications = createNotifications({ popupMs, toastMs, onOpenCall: openCall });
const { showToast, showNotice, showPopup, addRecent, showRecording, refreshEnded } = notifications;

// ---------------------------------------------------------------------------------------------
// Connection

const connectionLabels = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
};

function setConnection(state) {
  const element = $('connection-state');
  element.dataset.state = state;
  element.querySelector('.connection-label').textContent =
    `${connectionLabels[state]} · ${transport === 'sse' ? 'SSE' : 'Socket.IO'}`;
}

/**
 * Server-Sent Events: the stream resumes after the last event, also when a (re)connect was
 * refused (a new stream after a backoff, meanwhile "Reconnecting…").
 */
function connectSse() {
  openResumableEventSource('/api/events?types=call.*,alert.*', {
    onState: setConnection,
    listeners: {
      snapshot: (message) => applySnapshot(JSON.parse(message.data).calls),
      call: (message) => applyEvent(JSON.parse(message.data)),
      // Events were missed and cannot be replayed. The server follows a reset with a fresh
      // snapshot on the same stream, which replaces the calls we hold.
      reset: () => setConnection('connected'),
    },
  });
}

/** Socket.IO: the client keeps the last cursor and hands it back on reconnect to resume. */
async function connectSocketIo() {
  await loadScript('/socket.io/socket.io.js');
  let lastCursor;
  const socket = window.io({
    // Read on every (re)connect: the server resumes right after the last event seen.
    auth: (send) => send(lastCursor ? { lastCursor } : {}),
  });
  const subscribe = () =>
    socket.emit('subscribe_to_calls', { types: ['call.*', 'alert.*'] }, (ack) => {
      if (!ack?.ok) console.error('subscribe_to_calls failed', ack?.error);
    });
  socket.on('connect', () => {
    setConnection('connected');
    if (!lastCursor) subscribe();
  });
  socket.on('disconnect', () => setConnection('reconnecting'));
  socket.on('connect_error', () => setConnection(socket.active ? 'reconnecting' : 'disconnected'));
  socket.on('active_calls', ({ calls: snapshot, cursor }) => {
    lastCursor = cursor ?? lastCursor;
    applySnapshot(snapshot);
  });
  socket.on('call_update', ({ cursor, event }) => {
    lastCursor = cursor;
    applyEvent(event);
  });
  // Missed events left the history: reload, a fresh snapshot then live events.
  socket.on('reset', () => {
    lastCursor = undefined;
    subscribe();
  });
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

// ---------------------------------------------------------------------------------------------
// Start

for (const link of document.querySelectorAll('[data-transport]')) {
  const next = new URLSearchParams(location.search);
  next.set('transport', link.dataset.transport);
  link.href = `?${next}`;
  if (link.dataset.transport === transport) link.setAttribute('aria-current', 'page');
}
$('transport-name').textContent = transport === 'sse' ? 'SSE' : 'Socket.IO';
document.body.dataset.transport = transport;
setConnection('connecting');

try {
  const config = await fetch('/demo.json').then((response) => response.json());
  branches = config.branches ?? [];
  lines = config.lines ?? [];
  callControl = config.callControl === true;
  $('tenant-name').textContent = config.tenantId ?? 'demo';
} catch {
  // The counters still show the branches of the calls that arrive.
}
// The alerts raised before this page opened (newest first; the panel prepends, so oldest first).
try {
  const { alerts } = await fetch('/api/alerts/recent').then((response) => response.json());
  for (const alert of alerts.slice().reverse()) alertsPanel.add(alert);
} catch {
  // The panel fills from live alerts.
}
// The recently ended calls, from the tracker, so a reload shows them again (oldest first: each
// one is prepended). Loaded before the live stream starts, so a live end always lands on top.
try {
  const { calls } = await fetch(`/api/calls/recent?limit=${notifications.maxRecent}`).then(
    (response) => response.json(),
  );
  for (const call of calls.slice().reverse()) addRecent(call);
} catch {
  // The list fills from live events.
}
setUpDialForm();
render();
openCallFromHash();
setInterval(tick, 1_000);
void loadAnalytics();

if (transport === 'socket.io') {
  connectSocketIo().catch((error) => {
    console.error(error);
    setConnection('disconnected');
  });
} else {
  connectSse();
}
