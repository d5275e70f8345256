// @vitest-environment jsdom
import type { CallEvent } from '@calltrack/core';
import { act, cleanup, render, renderHook, waitFor } from '@testing-library/react';
import { createElement, Fragment, memo, type ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allTenantsToken,
  callEvent,
  endedEvent,
  type SseTestServer,
  startSseServer,
  testApiOptions,
  testSseTransport,
} from './__tests__/start-sse-server';
import { CallTrackProvider } from './call-track-provider';
import type { CallTrackTransportSink } from './call-track-transport';
import { type CallTrackClient, createCallTrackClient } from './create-call-track-client';
import { useActiveCalls } from './use-active-calls';
import { useCall } from './use-call';
import { useCallCompleted } from './use-call-completed';
import { useCallEvents } from './use-call-events';
import { useCallTrackState } from './use-call-track-state';
import { useConnectionState } from './use-connection-state';

let server: SseTestServer | undefined;
afterEach(async () => {
  cleanup();
  await server?.close();
  server = undefined;
});

/** A client of a real SSE server: tenant `tenant-a`'s, or with `token` another principal's. */
async function setup(token?: string) {
  server = await startSseServer();
  const client = createCallTrackClient({ transport: testSseTransport(server, token) });
  const wrapper = ({ children }: { children?: ReactNode }) =>
    createElement(CallTrackProvider, { client }, children);
  return { server, client, wrapper };
}

async function ingest(target: SseTestServer, ...events: CallEvent[]) {
  await act(async () => {
    for (const event of events) await target.tracker.ingest(event);
  });
}

describe('React hooks against a real @calltrack/sse server', () => {
  it('useActiveCalls shows the snapshot and live updates; refresh reloads', async () => {
    const { server, wrapper } = await setup();
    await server.tracker.ingest(callEvent('CA-1'));
    const { result } = renderHook(() => useActiveCalls(), { wrapper });
    await waitFor(() => expect(result.current.calls.map((call) => call.callId)).toEqual(['CA-1']));
    expect(result.current.isLoaded).toBe(true);

    await ingest(server, callEvent('CA-2'));
    await waitFor(() => expect(result.current.calls).toHaveLength(2));
    await ingest(server, endedEvent('CA-1'));
    await waitFor(() => expect(result.current.calls.map((call) => call.callId)).toEqual(['CA-2']));
    await act(() => result.current.refresh());
    expect(result.current.calls.map((call) => call.callId)).toEqual(['CA-2']);
  });

  it('useConnectionState follows the connection; useCallTrackState selects the last event', async () => {
    const { server, wrapper } = await setup();
    const history: string[] = [];
    const { result } = renderHook(
      () => {
        const state = useConnectionState();
        const label = `${state.isConnected ? 'connected' : 'disconnected'}${state.reconnecting ? '+reconnecting' : ''}`;
        if (history.at(-1) !== label) history.push(label);
        return { ...state, lastEvent: useCallTrackState((current) => current.lastEvent) };
      },
      { wrapper },
    );
    expect(result.current.isConnected).toBe(false);
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await ingest(server, callEvent('CA-1'));
    await waitFor(() => expect(result.current.lastEvent?.callId).toBe('CA-1'));

    act(() => server.dropConnections());
    // The transient reconnecting state is recorded by the render history (retry is 10 ms).
    await waitFor(() =>
      expect(history).toEqual([
        'disconnected',
        'connected',
        'disconnected+reconnecting',
        'connected',
      ]),
    );
  });

  it('useCallCompleted fires once per ended call', async () => {
    const { server, wrapper } = await setup();
    const completed: string[] = [];
    const { result } = renderHook(
      () => {
        useCallCompleted((event) => completed.push(event.callId ?? ''));
        return {
          ...useConnectionState(),
          lastEvent: useCallTrackState((state) => state.lastEvent),
        };
      },
      { wrapper },
    );
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await ingest(server, callEvent('CA-1'), callEvent('CA-2'), endedEvent('CA-1'));
    // A second, distinct call.ended for CA-1 (a provider retry with another id).
    await ingest(server, endedEvent('CA-1'), endedEvent('CA-2'), callEvent('CA-3'));
    await waitFor(() => expect(result.current.lastEvent?.callId).toBe('CA-3'));
    expect(completed).toEqual(['CA-1', 'CA-2']);
  });

  it('useCallCompleted fires for each tenant’s call of one id (an all-tenants console)', async () => {
    const { server, wrapper } = await setup(allTenantsToken);
    const completed: string[] = [];
    const { result } = renderHook(
      () => {
        useCallCompleted((event) => completed.push(`${event.tenantId}/${event.callId}`));
        return {
          ...useConnectionState(),
          lastEvent: useCallTrackState((state) => state.lastEvent),
        };
      },
      { wrapper },
    );
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await ingest(
      server,
      callEvent('CA-1', { tenantId: 'tenant-a' }),
      callEvent('CA-1', { tenantId: 'tenant-b' }),
      endedEvent('CA-1', 'tenant-a'),
      endedEvent('CA-1', 'tenant-b'),
      callEvent('CA-2'),
    );
    await waitFor(() => expect(result.current.lastEvent?.callId).toBe('CA-2'));
    expect(completed).toEqual(['tenant-a/CA-1', 'tenant-b/CA-1']);
  });

  it('useCallCompleted remembers the last 1,000 ended calls, not every one', () => {
    let sink: CallTrackTransportSink | undefined;
    const client = createCallTrackClient({
      transport: {
        connect(reportTo) {
          sink = reportTo;
          return { reload: () => {}, close: () => {} };
        },
      },
    });
    const completed: string[] = [];
    renderHook(() => useCallCompleted((event) => completed.push(event.callId ?? '')), {
      wrapper: ({ children }: { children?: ReactNode }) =>
        createElement(CallTrackProvider, { client }, children),
    });
    act(() => {
      for (let index = 0; index <= 1_000; index += 1) sink?.onEvent(endedEvent(`CA-${index}`));
      // CA-1000 was just fired: a repeat is dropped. CA-0 is the oldest of 1,001: forgotten.
      sink?.onEvent(endedEvent('CA-1000'));
      sink?.onEvent(endedEvent('CA-0'));
    });
    expect(completed).toHaveLength(1_002);
    expect(completed.slice(-2)).toEqual(['CA-1000', 'CA-0']);
  });

  it('useCall with a tenant shows that tenant’s call of an id two tenants share', async () => {
    const { server, client, wrapper } = await setup(allTenantsToken);
    const { result } = renderHook(
      () => ({
        a: useCall('CA-1', { tenantId: 'tenant-a' }),
        b: useCall('CA-1', { tenantId: 'tenant-b' }),
        isConnected: useConnectionState().isConnected,
      }),
      { wrapper },
    );
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await ingest(
      server,
      callEvent('CA-1', { tenantId: 'tenant-a' }),
      callEvent('CA-1', { tenantId: 'tenant-b' }),
      callEvent('CA-1', { tenantId: 'tenant-b', type: 'call.answered', status: 'in-progress' }),
      endedEvent('CA-1', 'tenant-a'),
    );
    await waitFor(() => expect(result.current.a?.status).toBe('completed'));
    expect(result.current.a?.tenantId).toBe('tenant-a');
    expect(result.current.b).toMatchObject({ tenantId: 'tenant-b', status: 'in-progress' });
    expect(client.getSnapshot().activeCalls.map((call) => call.tenantId)).toEqual(['tenant-b']);
  });

  it('useCallEvents delivers only matching events', async () => {
    const { server, wrapper } = await setup();
    const seen: string[] = [];
    const { result } = renderHook(
      () => {
        useCallEvents({ callId: 'CA-2', types: ['call.*'] }, (event) =>
          seen.push(`${event.callId}:${event.type}`),
        );
        return {
          ...useConnectionState(),
          lastEvent: useCallTrackState((state) => state.lastEvent),
        };
      },
      { wrapper },
    );
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await ingest(server, callEvent('CA-1'), callEvent('CA-2'), endedEvent('CA-2'));
    await waitFor(() => expect(result.current.lastEvent?.type).toBe('call.ended'));
    expect(seen).toEqual(['CA-2:call.ringing', 'CA-2:call.ended']);
  });

  it('useCall watches a call while mounted, keeps it after it ends, and stops on unmount', async () => {
    const { server, client, wrapper } = await setup();
    await server.tracker.ingest(callEvent('CA-1'));
    const view = render(createElement(Probe, { id: 'CA-1' }), { wrapper });
    await waitFor(() => expect(view.getByTestId('CA-1').textContent).toBe('ringing'));
    expect(watched(client)).toEqual(['CA-1']);

    await ingest(server, endedEvent('CA-1'));
    await waitFor(() => expect(view.getByTestId('CA-1').textContent).toBe('completed'));
    expect(client.getSnapshot().activeCalls).toHaveLength(0);

    view.unmount();
    await Promise.resolve(); // the state shows the end of a watch on the next microtask
    expect(watched(client)).toEqual([]);
  });

  it('useCall never shows a call as live when its call.ended fell in a reset gap', async () => {
    server = await startSseServer({ maxEvents: 5 });
    const target = server;
    const withApi = createCallTrackClient({
      transport: testSseTransport(target),
      api: testApiOptions(target),
    });
    const withoutApi = createCallTrackClient({ transport: testSseTransport(target) });
    const view = render(
      createElement(
        Fragment,
        null,
        createElement(CallTrackProvider, { client: withApi }, createElement(Probe, { id: 'CA-1' })),
        createElement(
          CallTrackProvider,
          { client: withoutApi },
          createElement(Probe, { id: 'CA-1', testId: 'CA-1 without api' }),
        ),
      ),
    );
    await ingest(target, callEvent('CA-1'));
    await waitFor(() => {
      expect(view.getByTestId('CA-1').textContent).toBe('ringing');
      expect(view.getByTestId('CA-1 without api').textContent).toBe('ringing');
    });

    // Away while CA-1 ends and more happens than the history keeps: both resume with a reset.
    await act(async () => {
      target.dropConnections();
      await target.tracker.ingest(endedEvent('CA-1'));
      for (let index = 0; index < 10; index += 1) {
        await target.tracker.ingest(callEvent(`CA-n${index}`));
      }
    });
    // Read again through the tracker's API: the outcome; without one: no longer known.
    await waitFor(() => {
      expect(view.getByTestId('CA-1').textContent).toBe('completed');
      expect(view.getByTestId('CA-1 without api').textContent).toBe('none');
    });
  });
});

describe('re-renders (counted, against a real @calltrack/sse server)', () => {
  function mountProbes(
    wrapper: (props: { children?: ReactNode }) => ReactNode,
    counter: RenderCounter,
  ) {
    return render(
      createElement(
        Fragment,
        null,
        createElement(CallRow, { id: 'CA-1', counter }),
        createElement(CallRow, { id: 'CA-2', counter }),
        createElement(ConnectionBadge, { counter }),
        createElement(CallList, { counter }),
        createElement(LastEvent, { counter }),
      ),
      { wrapper },
    );
  }

  it('useCall re-renders only for its own call; useConnectionState not on events', async () => {
    const { server, wrapper } = await setup();
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(callEvent('CA-2'));
    const counter = renderCounter();
    const view = mountProbes(wrapper, counter);
    await waitFor(() => expect(view.getByTestId('list').textContent).toBe('CA-2,CA-1'));
    await waitFor(() => expect(view.getByTestId('CA-1').textContent).toBe('ringing'));
    const before = counter.snapshot();

    // Three changes of CA-2, one event at a time.
    const events = [
      callEvent('CA-2', { type: 'call.answered', status: 'in-progress' }),
      callEvent('CA-2', { type: 'call.recording', data: { recordingUrl: 'https://r.example/1' } }),
      callEvent('CA-2', { type: 'call.machine_detection', data: { answeredBy: 'human' } }),
    ];
    for (const event of events) {
      await ingest(server, event);
      await waitFor(() => expect(view.getByTestId('last-event').textContent).toBe(event.id));
    }
    expect(view.getByTestId('CA-2').textContent).toBe('in-progress');
    expect(counter.get('CA-1')).toBe(before['CA-1']);
    expect(counter.get('connection')).toBe(before.connection);
    expect(counter.get('CA-2')).toBe((before['CA-2'] ?? 0) + events.length);
    expect(counter.get('last-event')).toBe((before['last-event'] ?? 0) + events.length);
  });

  it('useActiveCalls does not re-render for events that leave the list as it is', async () => {
    const { server, client, wrapper } = await setup();
    await server.tracker.ingest(callEvent('CA-1'));
    // CA-9 ended before the client connected: its late enrichment changes nothing on the list.
    await server.tracker.ingest(callEvent('CA-9'));
    await server.tracker.ingest(endedEvent('CA-9'));
    const counter = renderCounter();
    const view = mountProbes(wrapper, counter);
    await waitFor(() => expect(view.getByTestId('list').textContent).toBe('CA-1'));
    const before = counter.snapshot();

    const analyzed = callEvent('CA-9', {
      type: 'call.analyzed',
      data: { analysis: { summary: 'left a message' } },
    });
    await ingest(server, analyzed);
    await waitFor(() => expect(view.getByTestId('last-event').textContent).toBe(analyzed.id));
    // A refresh reloads the same versions: no call object is replaced.
    await act(() => client.refresh());

    expect(counter.get('list')).toBe(before.list);
    expect(counter.get('CA-1')).toBe(before['CA-1']);
    expect(counter.get('CA-2')).toBe(before['CA-2']);
    expect(counter.get('connection')).toBe(before.connection);
    expect(counter.get('last-event')).toBe((before['last-event'] ?? 0) + 1);
  });

  it('rows under a parent that reads lastEvent (the README’s Dashboard) re-render for their own call only', async () => {
    const { server, wrapper } = await setup();
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(callEvent('CA-2'));
    const counter = renderCounter();
    const view = render(createElement(Dashboard, { counter }), { wrapper });
    await waitFor(() => expect(view.getByTestId('CA-1').textContent).toBe('ringing'));
    await waitFor(() => expect(view.getByTestId('CA-2').textContent).toBe('ringing'));
    const before = counter.snapshot();

    const answered = callEvent('CA-2', { type: 'call.answered', status: 'in-progress' });
    await ingest(server, answered);
    await waitFor(() => expect(view.getByTestId('last-event').textContent).toBe(answered.id));
    expect(view.getByTestId('CA-2').textContent).toBe('in-progress');
    expect(counter.get('dashboard')).toBeGreaterThan(before.dashboard ?? 0);
    expect(counter.get('CA-1')).toBe(before['CA-1']);
    expect(counter.get('CA-2')).toBe((before['CA-2'] ?? 0) + 1);
  });

  it('mounting or unmounting many useCall rows is one store change; an event re-renders its row', async () => {
    const { server, client, wrapper } = await setup();
    const callIds = Array.from({ length: 300 }, (_, index) => `CA-${index}`);
    for (const callId of callIds) await server.tracker.ingest(callEvent(callId));
    const counter = renderCounter();
    const rows = (mounted: boolean) =>
      createElement(
        Fragment,
        null,
        createElement(LastEvent, { counter }),
        ...(mounted ? callIds.map((id) => createElement(CallRow, { key: id, id, counter })) : []),
      );
    const view = render(rows(false), { wrapper });
    await waitFor(() => expect(client.getSnapshot().activeCalls).toHaveLength(callIds.length));
    let changes = 0;
    const unsubscribe = client.subscribe(() => {
      changes += 1;
    });

    await act(async () => view.rerender(rows(true)));
    expect(changes).toBe(1);
    expect(watched(client)).toHaveLength(callIds.length);
    expect(callIds.map((id) => counter.get(id))).toEqual(callIds.map(() => 1));
    expect(view.getByTestId('CA-7').textContent).toBe('ringing');

    const answered = callEvent('CA-7', { type: 'call.answered', status: 'in-progress' });
    await ingest(server, answered);
    await waitFor(() => expect(view.getByTestId('last-event').textContent).toBe(answered.id));
    expect(view.getByTestId('CA-7').textContent).toBe('in-progress');
    expect(callIds.map((id) => counter.get(id))).toEqual(
      callIds.map((id) => (id === 'CA-7' ? 2 : 1)),
    );

    changes = 0;
    await act(async () => view.rerender(rows(false)));
    expect(changes).toBe(1);
    expect(watched(client)).toEqual([]);
    unsubscribe();
  });
});

/** Render counts per probe component. */
interface RenderCounter {
  hit(name: string): void;
  get(name: string): number;
  snapshot(): Record<string, number>;
}

function renderCounter(): RenderCounter {
  const counts = new Map<string, number>();
  return {
    hit: (name) => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    },
    get: (name) => counts.get(name) ?? 0,
    snapshot: () => Object.fromEntries(counts),
  };
}

function CallRow({ id, counter }: { id: string; counter: RenderCounter }) {
  counter.hit(id);
  const call = useCall(id);
  return createElement('output', { 'data-testid': id }, call ? String(call.status) : 'none');
}

/**
 * The README's Dashboard: it reads `lastEvent`, so it re-renders on every event, and its rows are
 * memoised (as the README's are) so that they do not re-render with it.
 */
function Dashboard({ counter }: { counter: RenderCounter }) {
  counter.hit('dashboard');
  const { calls } = useActiveCalls();
  const lastEvent = useCallTrackState((state) => state.lastEvent);
  return createElement(
    Fragment,
    null,
    createElement('output', { 'data-testid': 'last-event' }, lastEvent?.id ?? ''),
    ...calls.map((call) =>
      createElement(MemoCallRow, { key: call.callId, id: call.callId, counter }),
    ),
  );
}

const MemoCallRow = memo(CallRow);

function ConnectionBadge({ counter }: { counter: RenderCounter }) {
  counter.hit('connection');
  const { isConnected } = useConnectionState();
  return createElement('output', { 'data-testid': 'connection' }, String(isConnected));
}

function CallList({ counter }: { counter: RenderCounter }) {
  counter.hit('list');
  const { calls } = useActiveCalls();
  return createElement('output', { 'data-testid': 'list' }, calls.map((c) => c.callId).join());
}

function LastEvent({ counter }: { counter: RenderCounter }) {
  counter.hit('last-event');
  const lastEvent = useCallTrackState((state) => state.lastEvent);
  return createElement('output', { 'data-testid': 'last-event' }, lastEvent?.id ?? '');
}

/** Shows one call's status through `useCall`. */
function Probe({ id, testId = id }: { id: string; testId?: string }) {
  const call = useCall(id);
  return createElement('output', { 'data-testid': testId }, call ? String(call.status) : 'none');
}

function watched(client: CallTrackClient): string[] {
  return [...client.getSnapshot().watchedCalls.keys()];
}
