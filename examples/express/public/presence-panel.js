// The console's Agents panel (the `data-slot="presence"` slot): who is online, away or offline,
// their state (available, break, wrap-up), who is on a call, and the signed-in user's own state.
//
// Its own SSE stream (`types=presence.*`) registers this page's user with presence (the SSE
// handler's `presence` option) and brings the changes live: a `presence` frame with the members,
// then `presence.*` events; per user the snapshot with the higher `version` wins. Calls are read
// with the list (`GET /api/presence/agents`), again every few seconds, since a call starting or
// ending is not a presence event.
import { requestJson } from './format.js';
import { openResumableEventSource } from './resumable-event-source.js';

const stateLabels = { available: 'Available', break: 'On break', 'wrap-up': 'Wrap-up' };
const statusLabels = { online: 'Online', away: 'Away', offline: 'Offline' };
const statusOrder = { online: 0, away: 1, offline: 2 };
const refreshMs = 5_000;

const slot = document.querySelector('[data-slot="presence"]');
/** @type {Map<string, any>} by user id */
const agents = new Map();
let states = ['available', 'break', 'wrap-up'];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function mount() {
  slot.replaceChildren();
  slot.classList.remove('panel-slot');
  slot.classList.add('panel-presence');
  const header = element('header', 'panel-header');
  header.append(element('h2', '', 'Agents'));
  const summary = element('span', 'panel-hint');
  summary.dataset.testid = 'presence-summary';
  header.append(summary);

  const mine = element('label', 'presence-mine');
  mine.append(element('span', 'muted', 'My status'));
  const select = element('select');
  select.dataset.testid = 'presence-state';
  select.addEventListener('change', async () => {
    select.disabled = true;
    try {
      const { agent } = await requestJson('/api/presence/state', {
        method: 'PUT',
        body: JSON.stringify({ state: select.value }),
      });
      apply(agent);
    } catch (error) {
      message.textContent = error.message;
    } finally {
      select.disabled = false;
    }
  });
  mine.append(select);
  const message = element('p', 'presence-message');
  message.dataset.testid = 'presence-message';

  const list = element('ul', 'presence-list');
  list.dataset.testid = 'presence-list';
  slot.append(header, mine, message, list);
}

/** Keeps the newer of what we hold and `member` (a `UserPresence` or the route's agent). */
function apply(member) {
  const known = agents.get(member.userId);
  if (known && (member.version ?? 0) < (known.version ?? 0)) return;
  agents.set(member.userId, {
    ...known,
    ...member,
    name: known?.name ?? member.name ?? member.userId,
    you: known?.you ?? member.you ?? false,
    calls: member.calls ?? known?.calls ?? [],
  });
  render();
}

function render() {
  const select = slot.querySelector('[data-testid="presence-state"]');
  if (select.options.length !== states.length) {
    select.replaceChildren(
      ...states.map((state) => new Option(stateLabels[state] ?? state, state)),
    );
  }
  const list = slot.querySelector('[data-testid="presence-list"]');
  const sorted = [...agents.values()].sort(
    (a, b) =>
      Number(b.you) - Number(a.you) ||
      statusOrder[a.status] - statusOrder[b.status] ||
      a.name.localeCompare(b.name),
  );
  list.replaceChildren(
    ...sorted.map((agent) => {
      const onCall = agent.status !== 'offline' && agent.calls.length > 0;
      const item = element('li', 'presence-agent');
      Object.assign(item.dataset, {
        userId: agent.userId,
        status: agent.status,
        state: agent.state,
        onCall: String(onCall),
      });
      const dot = element('span', `presence-dot is-${agent.status}`);
      dot.setAttribute('aria-hidden', 'true');
      const who = element('span', 'presence-name', agent.name);
      const what = element(
        'span',
        'presence-detail',
        agent.status === 'offline'
          ? 'Offline'
          : `${statusLabels[agent.status]} · ${stateLabels[agent.state] ?? agent.state}`,
      );
      item.append(dot, who, what);
      if (onCall) item.append(element('span', 'presence-call', 'On a call'));
      if (agent.you) select.value = agent.state;
      return item;
    }),
  );
  const count = (status) => sorted.filter((agent) => agent.status === status).length;
  const busy = sorted.filter((agent) => agent.status !== 'offline' && agent.calls.length > 0);
  slot.querySelector('[data-testid="presence-summary"]').textContent =
    `${count('online')} online · ${count('away')} away · ${busy.length} on a call`;
}

async function refresh() {
  const answer = await requestJson('/api/presence/agents');
  states = answer.states;
  for (const agent of answer.agents) {
    const known = agents.get(agent.userId);
    // Calls and names are always fresh from the route; status and state only if not older.
    if (known && known.version > agent.version) {
      agents.set(agent.userId, { ...known, calls: agent.calls, name: agent.name, you: agent.you });
    } else {
      agents.set(agent.userId, agent);
    }
  }
  render();
}

/** Follows the stream, reopened after a refusal too: it also keeps this page's user online. */
function follow() {
  openResumableEventSource('/api/events?types=presence.*', {
    listeners: {
      presence: (message) => {
        for (const member of JSON.parse(message.data).members) apply(member);
      },
      call: (message) => {
        const event = JSON.parse(message.data);
        if (event.type.startsWith('presence.') && event.data?.presence) apply(event.data.presence);
      },
      reset: () => void refresh().catch(() => {}),
    },
  });
}

if (slot) {
  mount();
  refresh()
    .catch(() => {})
    .finally(() => {
      follow();
      slot.dataset.ready = 'true';
      setInterval(() => void refresh().catch(() => {}), refreshMs);
    });
}
