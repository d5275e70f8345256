// The call detail drawer: the call as the tracker knows it (`/api/calls/active/:id`, also for a
// recently ended call), its timeline (`/api/calls/:id/timeline`), Retell's transcript and
// analysis, the answering-machine result, and the recording played through the app
// (`/api/calls/:id/recording`: the provider's URL and credentials stay on the server).

import { activeCallPath, callPath } from './call-paths.js';
import {
  answeredByMachine,
  branchLabel,
  contactNumber,
  displayStatus,
  formatDuration,
  formatTime,
  providerLabel,
  requestJson,
  setPill,
  titleCase,
} from './format.js';

const $ = (testId, root = document) => root.querySelector(`[data-testid="${testId}"]`);
const eventLabels = {
  'call.initiated': 'Dialing',
  'call.ringing': 'Ringing',
  'call.answered': 'Answered',
  'call.ended': 'Ended',
  'call.machine_detection': 'Machine detection',
  'call.recording': 'Recording ready',
  'call.transcript': 'Transcript updated',
  'call.analyzed': 'Analysis ready',
};

/**
 * @param {{ onHangUp: (callId: string) => Promise<void>, canHangUp: () => boolean }} options
 */
export function createCallDrawer(options) {
  const drawer = $('call-drawer');
  const backdrop = $('drawer-backdrop');
  let openCallId;
  let loadSeq = 0;
  let refreshTimer;

  const close = () => {
    openCallId = undefined;
    drawer.classList.remove('is-open');
    drawer.setAttribute('aria-hidden', 'true');
    delete drawer.dataset.callId;
    backdrop.hidden = true;
    const audio = $('drawer-recording');
    audio.pause();
    audio.removeAttribute('src');
  };
  $('drawer-close').addEventListener('click', close);
  backdrop.addEventListener('click', close);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && openCallId) close();
  });
  $('drawer-hangup').addEventListener('click', async () => {
    const button = $('drawer-hangup');
    button.disabled = true;
    button.textContent = 'Hanging up…';
    try {
      await options.onHangUp(openCallId);
    } finally {
      button.disabled = false;
      button.textContent = 'Hang up';
    }
  });

  function fact(list, label, value) {
    if (value === undefined || value === null || value === '') return;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = String(value);
    list.append(dt, dd);
  }

  function renderCall(call) {
    drawer.dataset.status = call.status ?? '';
    $('drawer-contact').textContent = contactNumber(call);
    $('drawer-meta').textContent = [
      branchLabel(call.branchId),
      providerLabel(call.provider),
      call.direction === 'inbound' ? 'inbound' : call.direction === 'outbound' ? 'outbound' : '',
    ]
      .filter(Boolean)
      .join(' · ');
    setPill($('drawer-status'), displayStatus(call));
    $('drawer-hangup').hidden = !(call.active && options.canHangUp());

    const facts = $('drawer-facts');
    facts.replaceChildren();
    fact(facts, 'Started', formatTime(call.startedAt ?? call.createdAt));
    if (call.answeredAt) fact(facts, 'Answered', formatTime(call.answeredAt));
    if (call.endedAt) fact(facts, 'Ended', formatTime(call.endedAt));
    if (answeredByMachine(call)) fact(facts, 'Talk time', 'none: a machine answered');
    else if (call.durationMs !== undefined)
      fact(facts, 'Talk time', formatDuration(call.durationMs));
    if (call.answeredBy) {
      fact(
        facts,
        'Answered by',
        answeredByMachine(call)
          ? `machine / voicemail (${call.answeredBy})`
          : titleCase(call.answeredBy),
      );
    } else if (call.disconnectionReason === 'voicemail_reached') {
      fact(facts, 'Answered by', 'voicemail');
    }
    if (call.disconnectionReason)
      fact(facts, 'End reason', call.disconnectionReason.replaceAll('_', ' '));
    if (call.reason) fact(facts, 'Closed by calltrack', call.reason);
    if (call.cost) fact(facts, 'Cost', `${call.cost.amount} ${call.cost.currency}`);
    fact(facts, 'Call id', call.callId);

    const recording = $('drawer-recording-section');
    recording.hidden = !call.recordingUrl;
    const audio = $('drawer-recording');
    const source = callPath(call.callId, 'recording');
    if (call.recordingUrl && audio.getAttribute('src') !== source) audio.src = source;

    const analysis = $('drawer-analysis');
    analysis.replaceChildren();
    const entries = Object.entries(call.analysis ?? {}).filter(
      ([, value]) => value !== null && value !== undefined && typeof value !== 'object',
    );
    for (const [name, value] of entries) {
      fact(analysis, titleCase(name.replace(/([A-Z])/g, ' $1').toLowerCase()), value);
    }
    for (const [name, value] of Object.entries(call.analysis?.custom ?? {}))
      fact(analysis, name, value);
    $('drawer-analysis-section').hidden = analysis.children.length === 0;
  }

  function renderTimeline(events) {
    const list = $('drawer-timeline');
    list.replaceChildren();
    let transcript;
    for (const event of events) {
      const item = document.createElement('li');
      item.dataset.testid = 'timeline-item';
      item.dataset.type = event.type;
      const time = document.createElement('span');
      time.className = 'timeline-time';
      time.textContent = formatTime(event.occurredAt);
      const label = document.createElement('span');
      label.className = 'timeline-label';
      const extra = [];
      if (event.type === 'call.ended' && event.status) extra.push(event.status);
      if (event.data.answeredBy) extra.push(`answered by ${event.data.answeredBy}`);
      if (typeof event.data.durationMs === 'number')
        extra.push(formatDuration(event.data.durationMs));
      label.textContent = `${eventLabels[event.type] ?? event.type}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
      item.append(time, label);
      list.append(item);
      if (typeof event.data.transcript === 'string' && event.data.transcript)
        transcript = event.data.transcript;
    }
    if (events.length === 0) {
      const item = document.createElement('li');
      item.className = 'muted';
      item.textContent = 'No events recorded for this call (it started before the app did).';
      list.append(item);
    }
    const section = $('drawer-transcript-section');
    section.hidden = !transcript;
    const box = $('drawer-transcript');
    box.replaceChildren();
    for (const line of (transcript ?? '').split('\n').filter(Boolean)) {
      const paragraph = document.createElement('p');
      const match = /^(\w+):\s*(.*)$/.exec(line);
      if (match) {
        const who = document.createElement('strong');
        who.textContent = `${titleCase(match[1])}: `;
        paragraph.append(who, match[2]);
      } else {
        paragraph.textContent = line;
      }
      box.append(paragraph);
    }
  }

  async function load(callId, attempt = 0) {
    const seq = ++loadSeq;
    const [callAnswer, timeline] = await Promise.all([
      requestJson(activeCallPath(callId)).catch(() => undefined),
      requestJson(callPath(callId, 'timeline')).catch(() => ({
        events: [],
      })),
    ]);
    if (seq !== loadSeq || openCallId !== callId) return;
    if (callAnswer?.call) renderCall(callAnswer.call);
    const events = timeline.events ?? [];
    renderTimeline(events);
    drawer.dataset.loaded = 'true';
    // The timeline is written by a bus subscriber, a moment after the tracker's state: when it
    // lags behind the call (no events yet, or no end for an ended call), look again shortly.
    const behind =
      events.length === 0 ||
      (callAnswer?.call?.active === false && !events.some((event) => event.type === 'call.ended'));
    if (behind && attempt < 5) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => openCallId === callId && load(callId, attempt + 1), 1_000);
    }
  }

  return {
    /** Opens the drawer on a call; `call` (if known) is shown at once while the rest loads. */
    open(callId, call) {
      openCallId = callId;
      drawer.dataset.callId = callId;
      delete drawer.dataset.loaded;
      if (call) renderCall(call);
      drawer.classList.add('is-open');
      drawer.setAttribute('aria-hidden', 'false');
      backdrop.hidden = false;
      drawer.focus();
      return load(callId);
    },
    close,
    /** An event arrived for some call: reload the drawer if it shows that call (debounced). */
    onEvent(callId) {
      if (callId !== openCallId) return;
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => openCallId && load(openCallId), 300);
    },
  };
}
