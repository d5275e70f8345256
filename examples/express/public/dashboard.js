// The calltrack demo dashboard: plain browser JavaScript, no build step.
//
// State is the tenant's active calls, keyed by call id. It starts from a snapshot (the first
// `snapshot` SSE event, or Socket.IO's `active_calls`) and every live event carries the call as
// the tracker sees it after that event (`event.data.call`, with a `version` that only grows), so
// applying an event means "keep the higher version; drop the call when it ended".
//
// Query parameters: `transport=socket.io` (default SSE), `popupMs` (how long the call-completed
// popup stays, default 10 s), `toastMs` (default 4 s).

const params = new URLSearchParams(location.search);
const transport = params.get('transport') === 'socket.io' ? 'socket.io' : 'sse';
const popupMs = positiveNumber(params.get('popupMs'), 10_000);
const toastMs = positiveNumber(params.get('toastMs'), 4_000);
const maxToasts = 4;
const maxPopups = 4;
const maxRecent = 8;

const statusLabels = {
  queued: 'Dialing',
  ringing: 'Ringing',
  'in-progress': 'Live',
  completed: 'Completed',
  busy: 'Busy',
  'no-answer': 'No answer',
  failed: 'Failed',
  canceled: 'Canceled',
};
const providerLabels = { twilio: 'Twilio', retell: 'Retell AI', callerdesk: 'CallerDesk' };

/** callId → the call (TrackedCall) */
const calls = new Map();
/** callId → the version at which it ended, so an older snapshot cannot bring it back. */
const ended = new Map();
/** Event ids already shown as a toast or popup (a reload may deliver an event again). */
const announced = new Set();
/** callId → open popup element */
const popups = new Map();
/** callId → recent-list item */
const recentItems = new Map();
let branches = [];

const $ = (testId, root = document) => root.querySelector(`[data-testid="${testId}"]`);
const rowsBody = document.getElementById('call-rows');
const rowTemplate = document.getElementById('call-row-template');
const popupTemplate = document.getElementById('popup-template');

function positiveNumber(value, fallback) {
  const number = Number(value);
  return value !== null && Number.isFinite(number) && number > 0 ? number : fallback;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Same rule as `maskPhoneNumber` in @calltrack/core: keep the first 2 and last 3 digits. */
function maskPhoneNumber(value) {
  if (!value) return '';
  const digitCount = value.replace(/\D/g, '').length;
  const keepHead = digitCount >= 7 ? 2 : 0;
  const keepTail = digitCount >= 7 ? 3 : Math.min(2, Math.max(0, digitCount - 1));
  let seen = 0;
  let masked = '';
  for (const character of value) {
    if (character >= '0' && character <= '9') {
      masked += seen < keepHead || seen >= digitCount - keepTail ? character : '•';
      seen += 1;
    } else {
      masked += /[a-z]/i.test(character) ? '•' : character;
    }
  }
  return masked;
}

/** The customer's number: the caller on inbound calls, the callee on outbound ones. */
function contactNumber(call) {
  const number = call.direction === 'inbound' ? call.from : (call.to ?? call.from);
  return number ? maskPhoneNumber(number) : 'Web call';
}

function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`
    : `${minutes}:${seconds}`;
}

const titleCase = (text) => (text ? text.charAt(0).toUpperCase() + text.slice(1) : '—');
const branchLabel = (branchId) => (branchId ? titleCase(branchId) : '—');
const providerLabel = (provider) => providerLabels[provider] ?? titleCase(provider);
const statusLabel = (status) => statusLabels[status] ?? titleCase(status);

/** How long the call has been in its current phase: talking, or ringing / dialing. */
function runningDuration(call, now) {
  const since = call.status === 'in-progress' ? call.answeredAt : call.startedAt;
  const start = Date.parse(since ?? call.createdAt);
  return Number.isNaN(start) ? 0 : now - start;
}

function setPill(element, status) {
  element.textContent = statusLabel(status);
  element.className = `pill status-${status ?? 'unknown'}`;
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
  const call = eventCall(event);
  if (call) applyCall(call, event.type === 'call.ended');
  else if (event.type === 'call.ended' && event.callId) calls.delete(event.callId);
  render();

  if (announced.has(event.id)) return;
  announced.add(event.id);
  if (announced.size > 2_000) announced.delete(announced.values().next().value);

  const details = call ?? { callId: event.callId, provider: event.provider, ...event };
  if (event.type === 'call.answered') showToast(details);
  if (event.type === 'call.ended') {
    showPopup(details);
    addRecent(details);
  }
  if (event.type === 'call.recording') {
    const url = event.data?.recordingUrl ?? call?.recordingUrl;
    if (url) showRecording(event.callId, url);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function newestFirst(a, b) {
  const left = a.startedAt ?? a.createdAt ?? '';
  const right = b.startedAt ?? b.createdAt ?? '';
  return left < right ? 1 : left > right ? -1 : 0;
}

function render() {
  const sorted = [...calls.values()].sort(newestFirst);
  const now = Date.now();
  const keep = new Set(sorted.map((call) => call.callId));
  for (const row of [...rowsBody.children]) {
    if (!keep.has(row.dataset.callId)) row.remove();
  }
  let previous = null;
  for (const call of sorted) {
    let row = rowsBody.querySelector(`tr[data-call-id="${CSS.escape(call.callId)}"]`);
    if (!row) {
      row = rowTemplate.content.firstElementChild.cloneNode(true);
      row.dataset.callId = call.callId;
      row.classList.add('is-new');
    }
    if (row.dataset.version !== String(call.version)) updateRow(row, call);
    updateDuration(row, call, now);
    const expectedPosition = previous ? previous.nextElementSibling : rowsBody.firstElementChild;
    if (expectedPosition !== row) {
      if (previous) previous.after(row);
      else rowsBody.prepend(row);
    }
    previous = row;
  }
  $('empty-state').hidden = sorted.length > 0;
  renderCounts(sorted);
}

function updateRow(row, call) {
  row.dataset.version = String(call.version);
  row.dataset.status = call.status ?? '';
  setPill($('call-status', row), call.status);
  $('call-contact', row).textContent = contactNumber(call);
  $('call-direction', row).textContent =
    call.direction === 'inbound' ? '↘ inbound' : call.direction === 'outbound' ? '↗ outbound' : '';
  $('call-branch', row).textContent = branchLabel(call.branchId);
  const provider = $('call-provider', row);
  provider.textContent = providerLabel(call.provider);
  provider.dataset.provider = call.provider;
  $('call-duration-kind', row).textContent =
    call.status === 'in-progress' ? 'talking' : call.status === 'ringing' ? 'ringing' : 'dialing';
}

function updateDuration(row, call, now) {
  const text = formatDuration(runningDuration(call, now));
  const element = $('call-duration', row);
  if (element.textContent !== text) element.textContent = text;
}

function renderCounts(sorted) {
  const byStatus = { queued: 0, ringing: 0, 'in-progress': 0 };
  const byBranch = new Map(branches.map((branch) => [branch, 0]));
  for (const call of sorted) {
    if (call.status in byStatus) byStatus[call.status] += 1;
    if (call.branchId) byBranch.set(call.branchId, (byBranch.get(call.branchId) ?? 0) + 1);
  }
  setText($('count-total'), String(sorted.length));
  setText($('count-queued'), String(byStatus.queued));
  setText($('count-ringing'), String(byStatus.ringing));
  setText($('count-live'), String(byStatus['in-progress']));

  const grid = $('branch-counts');
  for (const [branch, count] of byBranch) {
    let card = grid.querySelector(`[data-branch="${CSS.escape(branch)}"]`);
    if (!card) {
      card = document.createElement('div');
      card.className = 'branch';
      card.dataset.testid = 'branch-count';
      card.dataset.branch = branch;
      card.innerHTML = '<span class="branch-name"></span><span class="branch-value"></span>';
      card.querySelector('.branch-name').textContent = branchLabel(branch);
      grid.append(card);
    }
    card.classList.toggle('is-busy', count > 0);
    card.dataset.count = String(count);
    setText(card.querySelector('.branch-value'), String(count));
  }
}

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
// Toasts and popups

function showToast(call) {
  const container = $('toasts');
  const toast = document.createElement('div');
  toast.className = 'toast';
  toast.dataset.testid = 'toast';
  toast.dataset.callId = call.callId;
  toast.innerHTML =
    '<span class="toast-dot" aria-hidden="true"></span>' +
    '<div><div class="toast-title">Call live</div><div class="toast-body"></div></div>';
  toast.querySelector('.toast-body').textContent = [
    contactNumber(call),
    branchLabel(call.branchId),
    providerLabel(call.provider),
  ].join(' · ');
  container.append(toast);
  while (container.children.length > maxToasts) container.firstElementChild.remove();
  setTimeout(() => {
    toast.classList.add('is-leaving');
    setTimeout(() => toast.remove(), 250);
  }, toastMs);
}

function showPopup(call) {
  popups.get(call.callId)?.remove();
  const container = $('popups');
  const popup = popupTemplate.content.firstElementChild.cloneNode(true);
  popup.dataset.callId = call.callId;
  popup.dataset.status = call.status ?? '';
  setPill($('popup-status', popup), call.status);
  $('popup-duration', popup).textContent =
    call.durationMs === undefined
      ? '—'
      : call.durationMs === 0 && !call.answeredAt
        ? 'not answered'
        : formatDuration(call.durationMs);
  $('popup-contact', popup).textContent = contactNumber(call);
  $('popup-branch', popup).textContent =
    `${branchLabel(call.branchId)} · ${providerLabel(call.provider)}`;
  if (call.recordingUrl) setRecording(popup, call.recordingUrl);
  popup.querySelector('.popup-countdown span').style.animationDuration = `${popupMs}ms`;

  const close = () => {
    clearTimeout(timer);
    if (popups.get(call.callId) === popup) popups.delete(call.callId);
    popup.remove();
  };
  const timer = setTimeout(close, popupMs);
  $('popup-close', popup).addEventListener('click', close);
  popups.set(call.callId, popup);
  container.append(popup);
  while (container.children.length > maxPopups) {
    const oldest = container.firstElementChild;
    popups.delete(oldest.dataset.callId);
    oldest.remove();
  }
}

function setRecording(root, url) {
  const slot = root.querySelector('.recording-slot');
  if (!slot) return;
  let link = slot.querySelector('a');
  if (!link) {
    link = document.createElement('a');
    link.dataset.testid = slot.dataset.linkTestid;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = slot.dataset.recordingLabel;
    slot.append(link);
  }
  link.href = url;
}

/** A recording usually arrives a moment after the call ended. */
function showRecording(callId, url) {
  const popup = popups.get(callId);
  if (popup) setRecording(popup, url);
  const item = recentItems.get(callId);
  if (item) setRecording(item, url);
}

function addRecent(call) {
  const list = $('recent-calls');
  recentItems.get(call.callId)?.remove();
  const item = document.createElement('li');
  item.className = 'recent-item';
  item.dataset.testid = 'recent-call';
  item.dataset.callId = call.callId;
  item.innerHTML =
    '<span class="pill"></span>' +
    '<div class="recent-main"><div class="recent-contact"></div><div class="muted recent-meta"></div></div>' +
    '<div class="recent-side"><span class="recent-duration"></span>' +
    '<span class="recording-slot" data-link-testid="recent-recording" data-recording-label="▶ recording"></span></div>';
  setPill(item.querySelector('.pill'), call.status);
  item.querySelector('.recent-contact').textContent = contactNumber(call);
  item.querySelector('.recent-meta').textContent =
    `${branchLabel(call.branchId)} · ${providerLabel(call.provider)} · ${new Date(call.endedAt ?? Date.now()).toLocaleTimeString()}`;
  item.querySelector('.recent-duration').textContent = call.durationMs
    ? formatDuration(call.durationMs)
    : '—';
  if (call.recordingUrl) setRecording(item, call.recordingUrl);
  recentItems.set(call.callId, item);
  list.prepend(item);
  while (list.children.length > maxRecent) {
    const oldest = list.lastElementChild;
    recentItems.delete(oldest.dataset.callId);
    oldest.remove();
  }
  $('recent-empty').hidden = true;
}

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

/** Server-Sent Events: the browser reconnects by itself and resumes with Last-Event-ID. */
function connectSse() {
  const source = new EventSource('/api/events?types=call.*');
  source.addEventListener('open', () => setConnection('connected'));
  source.addEventListener('error', () =>
    setConnection(source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting'),
  );
  source.addEventListener('snapshot', (message) => applySnapshot(JSON.parse(message.data).calls));
  source.addEventListener('call', (message) => applyEvent(JSON.parse(message.data)));
  // Events were missed and cannot be replayed. The server follows a reset with a fresh snapshot
  // on the same stream, which replaces the calls we hold.
  source.addEventListener('reset', () => setConnection('connected'));
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
    socket.emit('subscribe_to_calls', { types: ['call.*'] }, (ack) => {
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
  $('tenant-name').textContent = config.tenantId ?? 'demo';
} catch {
  // The counters still show the branches of the calls that arrive.
}
// The recently ended calls, from the tracker, so a reload shows them again (oldest first: each
// one is prepended). Loaded before the live stream starts, so a live end always lands on top.
try {
  const { calls } = await fetch(`/api/calls/recent?limit=${maxRecent}`).then((response) =>
    response.json(),
  );
  for (const call of calls.slice().reverse()) addRecent(call);
} catch {
  // The list fills from live events.
}
render();
setInterval(tick, 1_000);

if (transport === 'socket.io') {
  connectSocketIo().catch((error) => {
    console.error(error);
    setConnection('disconnected');
  });
} else {
  connectSse();
}
