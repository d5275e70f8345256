// Server-Sent Events that stay open. The browser's `EventSource` reconnects by itself after a
// dropped connection (sending `Last-Event-ID`), but closes for good when a (re)connect is
// answered with an error status: a proxy's 503, or @calltrack/sse's 429 `too_many_connections`.
// Then a new one is opened after a backoff, resuming right after the last event received
// (`?lastEventId=`: a new `EventSource` sends no `Last-Event-ID`).

const firstDelayMs = 1_000;
const longestDelayMs = 30_000;

/**
 * How long to wait before the `attempt`-th reopen in a row (1 for the first): 1 s doubling up to
 * 30 s, each a random delay between half of it and all of it, so the tabs a proxy refused at
 * once do not all come back at once.
 */
function reopenDelay(attempt) {
  const ceiling = Math.min(longestDelayMs, firstDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** `url` asking to resume after `id`. */
function withLastEventId(url, id) {
  return `${url}${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(id)}`;
}

/**
 * Opens the stream at `url` and keeps it open. `listeners` maps event names (`call`,
 * `snapshot`, …) to handlers, added to each `EventSource` opened; `onState` hears `connected` on
 * each open and `reconnecting` whenever the stream is down (the browser reconnecting, or waiting
 * to reopen). Returns `{ close() }`.
 */
export function openResumableEventSource(url, { listeners, onState = () => {} }) {
  let source;
  /** The id of the last event received: where a new stream resumes. */
  let lastEventId;
  /** Streams closed for good in a row. */
  let failures = 0;
  let reopenTimer;

  const open = () => {
    const current = new EventSource(
      lastEventId === undefined ? url : withLastEventId(url, lastEventId),
    );
    source = current;
    current.addEventListener('open', () => {
      failures = 0;
      onState('connected');
    });
    current.addEventListener('error', () => {
      onState('reconnecting');
      // Still connecting: the browser retries by itself. Closed: it gave up, open a new one.
      if (current.readyState !== EventSource.CLOSED || source !== current) return;
      failures += 1;
      reopenTimer = setTimeout(open, reopenDelay(failures));
    });
    for (const [name, listener] of Object.entries(listeners)) {
      current.addEventListener(name, (message) => {
        if (message.lastEventId) lastEventId = message.lastEventId;
        listener(message);
      });
    }
  };

  open();
  return {
    close() {
      clearTimeout(reopenTimer);
      source.close();
      source = undefined;
    },
  };
}
