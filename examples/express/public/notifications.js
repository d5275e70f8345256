// Notifications of the console: a toast when a call goes live, a popup when one ends (the
// newest in full, older ones collapsed to a line), the recently completed list, and notices.
// They live in their own panel of the side column (on a phone a fixed-height strip above the
// calls), so they never cover the calls or the counts.

import { callPath } from './call-paths.js';
import {
  answeredByMachine,
  branchLabel,
  contactNumber,
  displayStatus,
  endedDuration,
  formatDuration,
  formatTime,
  providerLabel,
  setPill,
} from './format.js';

const maxToasts = 3;
/** Ended-call popups kept; only the newest is expanded, the others collapse to one line. */
const maxPopups = 4;
const maxRecent = 8;
const $ = (testId, root = document) => root.querySelector(`[data-testid="${testId}"]`);

/**
 * @param {{ popupMs: number, toastMs: number, onOpenCall: (callId: string) => void }} options
 */
export function createNotifications({ popupMs, toastMs, onOpenCall }) {
  const popupTemplate = document.getElementById('popup-template');
  /** callId → open popup element */
  const popups = new Map();
  /** callId → recent-list item */
  const recentItems = new Map();
  const openCall = onOpenCall;

  function updateNotificationsEmpty() {
    $('notifications-empty').hidden = $('toasts').children.length + $('popups').children.length > 0;
  }

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
    container.prepend(toast);
    while (container.children.length > maxToasts) container.lastElementChild.remove();
    updateNotificationsEmpty();
    setTimeout(() => {
      toast.classList.add('is-leaving');
      setTimeout(() => {
        toast.remove();
        updateNotificationsEmpty();
      }, 250);
    }, toastMs);
  }

  /** A message that is not about one call (a failed hang-up). */
  function showNotice(text, kind) {
    const container = $('toasts');
    const notice = document.createElement('div');
    notice.className = `toast toast-${kind}`;
    notice.dataset.testid = 'notice';
    notice.textContent = text;
    container.prepend(notice);
    updateNotificationsEmpty();
    setTimeout(
      () => {
        notice.remove();
        updateNotificationsEmpty();
      },
      Math.max(toastMs, 6_000),
    );
  }

  function fillPopup(popup, call) {
    const status = displayStatus(call);
    popup.dataset.status = call.status ?? '';
    popup.dataset.display = status ?? '';
    setPill($('popup-status', popup), status);
    $('popup-duration', popup).textContent = endedDuration(call);
    $('popup-contact', popup).textContent = contactNumber(call);
    $('popup-branch', popup).textContent =
      `${branchLabel(call.branchId)} · ${providerLabel(call.provider)}`;
    $('popup-summary', popup).textContent = `${contactNumber(call)} · ${endedDuration(call)}`;
    if (call.recordingUrl) setRecording(popup, call.callId);
  }

  function showPopup(call) {
    popups.get(call.callId)?.remove();
    const container = $('popups');
    const popup = popupTemplate.content.firstElementChild.cloneNode(true);
    popup.dataset.callId = call.callId;
    fillPopup(popup, call);
    popup.querySelector('.popup-countdown span').style.animationDuration = `${popupMs}ms`;

    const close = () => {
      clearTimeout(timer);
      if (popups.get(call.callId) === popup) popups.delete(call.callId);
      popup.remove();
      collapsePopups();
    };
    const timer = setTimeout(close, popupMs);
    $('popup-close', popup).addEventListener('click', close);
    popup.addEventListener('click', (event) => {
      if (popup.classList.contains('is-collapsed') && !event.target.closest('button')) {
        openCall(call.callId);
      }
    });
    popups.set(call.callId, popup);
    container.prepend(popup);
    while (container.children.length > maxPopups) {
      const oldest = container.lastElementChild;
      popups.delete(oldest.dataset.callId);
      oldest.remove();
    }
    collapsePopups();
  }

  /** At volume, only the newest ended call is shown in full; the others shrink to one line. */
  function collapsePopups() {
    [...$('popups').children].forEach((popup, index) => {
      popup.classList.toggle('is-collapsed', index > 0);
    });
    updateNotificationsEmpty();
  }

  function setRecording(root, callId) {
    const slot = root.querySelector('.recording-slot');
    if (!slot) return;
    let link = slot.querySelector('a');
    if (!link) {
      link = document.createElement('a');
      link.dataset.testid = slot.dataset.linkTestid;
      link.textContent = slot.dataset.recordingLabel;
      // Opens the drawer with its player; the href (the app's own route) works without scripts.
      link.addEventListener('click', (event) => {
        event.preventDefault();
        openCall(callId);
      });
      slot.append(link);
    }
    link.href = callPath(callId, 'recording');
  }

  /** A recording usually arrives a moment after the call ended. */
  function showRecording(callId) {
    const popup = popups.get(callId);
    if (popup) setRecording(popup, callId);
    const item = recentItems.get(callId);
    if (item) setRecording(item, callId);
  }

  function refreshEnded(call) {
    const popup = popups.get(call.callId);
    if (popup) fillPopup(popup, call);
    const item = recentItems.get(call.callId);
    if (item) fillRecent(item, call);
  }

  function fillRecent(item, call) {
    setPill(item.querySelector('.pill'), displayStatus(call));
    item.dataset.display = displayStatus(call) ?? '';
    item.querySelector('.recent-contact').textContent = contactNumber(call);
    item.querySelector('.recent-meta').textContent =
      `${branchLabel(call.branchId)} · ${providerLabel(call.provider)} · ${formatTime(call.endedAt ?? new Date().toISOString())}`;
    item.querySelector('.recent-duration').textContent = answeredByMachine(call)
      ? 'voicemail'
      : call.durationMs
        ? formatDuration(call.durationMs)
        : '—';
    if (call.recordingUrl) setRecording(item, call.callId);
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
    fillRecent(item, call);
    item.addEventListener('click', (event) => {
      if (!event.target.closest('a')) openCall(call.callId);
    });
    recentItems.set(call.callId, item);
    list.prepend(item);
    while (list.children.length > maxRecent) {
      const oldest = list.lastElementChild;
      recentItems.delete(oldest.dataset.callId);
      oldest.remove();
    }
    $('recent-empty').hidden = true;
  }

  return {
    showToast,
    showNotice,
    showPopup,
    addRecent,
    showRecording,
    refreshEnded,
    /** True while the call has a popup open or an entry in the recent list. */
    isShown: (callId) => popups.has(callId) || recentItems.has(callId),
    maxRecent,
  };
}
