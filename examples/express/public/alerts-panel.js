// The alerts panel: the tracker's `alert.*` events as they arrive on the stream, newest first,
// de-duplicated by event id (a reconnect may deliver one again), dismissable.
import { branchLabel, formatTime } from './format.js';

const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);
const ruleLabels = {
  concurrency_exceeded: 'Too many calls at once',
  long_call: 'Long call',
  failed_call_rate: 'Failed calls',
  no_agent_available: 'No agent available',
};
const maxAlerts = 20;

/** @param {{ onOpenCall: (callId: string) => void }} options */
export function createAlertsPanel(options) {
  const list = $('alerts');
  const seen = new Set();

  const update = () => {
    const count = list.children.length;
    $('alerts-empty').hidden = count > 0;
    $('alerts-clear').hidden = count === 0;
    const badge = $('alert-count');
    badge.hidden = count === 0;
    badge.textContent = String(count);
  };
  $('alerts-clear').addEventListener('click', () => {
    list.replaceChildren();
    update();
  });

  return {
    add(event) {
      if (seen.has(event.id)) return;
      seen.add(event.id);
      const rule = event.data?.rule ?? event.type.replace(/^alert\./, '');
      const item = document.createElement('li');
      item.className = `alert alert-${rule}`;
      item.dataset.testid = 'alert';
      item.dataset.type = event.type;
      item.innerHTML =
        '<span class="alert-icon" aria-hidden="true">!</span>' +
        '<div class="alert-main"><div class="alert-title"></div><div class="alert-message"></div>' +
        '<div class="muted alert-meta"></div></div>' +
        '<button type="button" class="popup-close" aria-label="Dismiss alert">×</button>';
      item.querySelector('.alert-title').textContent = ruleLabels[rule] ?? rule;
      item.querySelector('.alert-message').textContent = event.data?.message ?? '';
      item.querySelector('.alert-meta').textContent = [
        formatTime(event.occurredAt),
        event.branchId ? branchLabel(event.branchId) : '',
      ]
        .filter(Boolean)
        .join(' · ');
      if (event.callId) {
        const open = document.createElement('button');
        open.type = 'button';
        open.className = 'link-button';
        open.textContent = 'Open call';
        open.addEventListener('click', () => options.onOpenCall(event.callId));
        item.querySelector('.alert-main').append(open);
      }
      item.querySelector('.popup-close').addEventListener('click', () => {
        item.remove();
        update();
      });
      list.prepend(item);
      while (list.children.length > maxAlerts) list.lastElementChild.remove();
      update();
    },
  };
}
