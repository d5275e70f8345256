// @vitest-environment jsdom
import type { CallEvent } from '@calltrack/core';
import { act, cleanup, render, renderHook, waitFor } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callEvent,
  endedEvent,
  type SseTestServer,
  startSseServer,
  testSseTransport,
} from './__tests__/start-sse-server';
import { CallTrackProvider } from './call-track-provider';
import { type CallTrackClient, createCallTrackClient } from './create-call-track-client';
import { useActiveCalls } from './use-active-calls';
import { useCall } from './use-call';
import { useCallCompleted } from './use-call-completed';
import { useCallEvents } from './use-call-events';
import { useConnectionState } from './use-connection-state';

let server: SseTestServer | undefined;
afterEach(async () => {
  cleanup();
  await server?.close();
  server = undefined;
});

async function setup() {
  server = await startSseServer();
  const client = createCallTrackClient({ transport: testSseTransport(server) });
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

  it('useConnectionState follows the connection and the last event', async () => {
    const { server, wrapper } = await setup();
    const history: string[] = [];
    const { result } = renderHook(
      () => {
        const state = useConnectionState();
        const label = `${state.isConnected ? 'connected' : 'disconnected'}${state.reconnecting ? '+reconnecting' : ''}`;
        if (history.at(-1) !== label) history.push(label);
        return state;
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
        return useConnectionState();
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

  it('useCallEvents delivers only matching events', async () => {
    const { server, wrapper } = await setup();
    const seen: string[] = [];
    const { result } = renderHook(
      () => {
        useCallEvents({ callId: 'CA-2', types: ['call.*'] }, (event) =>
          seen.push(`${event.callId}:${event.type}`),
        );
        return useConnectionState();
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
    expect(watched(client)).toEqual([]);
  });
});

/** Shows one call's status through `useCall`. */
function Probe({ id }: { id: string }) {
  const call = useCall(id);
  return createElement('output', { 'data-testid': id }, call ? String(call.status) : 'none');
}

function watched(client: CallTrackClient): string[] {
  return [...client.getSnapshot().watchedCalls.keys()];
}
