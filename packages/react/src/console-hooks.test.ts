// @vitest-environment jsdom
import type { CallEvent } from '@calltrack/core';
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { serveTrackerApi } from './__tests__/serve-tracker-api';
import {
  type ConsoleServer,
  consoleClientOptions,
  startConsoleServer,
} from './__tests__/start-console-server';
import {
  allTenantsToken,
  callEvent,
  startSseServer,
  testSseTransport,
} from './__tests__/start-sse-server';
import { CallTrackApiError } from './call-track-api-error';
import { CallTrackProvider } from './call-track-provider';
import { createCallTrackClient } from './create-call-track-client';
import { useActiveCalls } from './use-active-calls';
import { useAlerts } from './use-alerts';
import { useAnalytics } from './use-analytics';
import { useCallControl } from './use-call-control';
import { useConnectionState } from './use-connection-state';

const customer = '+14155550123';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: ConsoleServer | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  await server?.close();
  server = undefined;
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setup(options: Parameters<typeof startConsoleServer>[0] = {}) {
  server = await startConsoleServer(options);
  const client = createCallTrackClient(consoleClientOptions(server));
  const wrapper = ({ children }: { children?: ReactNode }) =>
    createElement(CallTrackProvider, { client }, children);
  return { server, client, wrapper };
}

/** A call of tenant `demo` (the simulator lines' tenant). */
/**
 * A call of the demo tenant, happening now: the console server's tracker runs on the wall clock
 * (as the simulator's calls do), and drops an event older than its retention of a call it does
 * not know as a replay.
 */
const demoCall = (callId: string, overrides: Partial<CallEvent> = {}) => {
  const now = new Date().toISOString();
  return callEvent(callId, { tenantId: 'demo', occurredAt: now, receivedAt: now, ...overrides });
};

/** The end of a call of the demo tenant, happening now. */
const demoEnded = (callId: string) => demoCall(callId, { type: 'call.ended', status: 'completed' });

describe('useCallControl against the real tracker API and the simulated provider', () => {
  it('places a call (pending while in flight), sees it through the stream, and hangs it up', async () => {
    const { server, wrapper } = await setup({
      providerApi: {
        outcome: 'completed',
        talkDurationMs: 3_600_000,
        fault: () => ({ type: 'delay', ms: 150 }),
      },
    });
    const { result } = renderHook(
      () => ({ control: useCallControl(), active: useActiveCalls(), ...useConnectionState() }),
      { wrapper },
    );
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    const stable = result.current.control.placeCall;

    let placing!: Promise<{ provider: string; callId: string | null; reference: string }>;
    act(() => {
      placing = result.current.control.placeCall({ provider: 'twilio', to: customer });
    });
    await waitFor(() => expect(result.current.control.pending.placing).toBe(true));
    const placed = await act(() => placing);
    expect(placed).toEqual({
      provider: 'twilio',
      callId: expect.stringMatching(/^CA/),
      reference: expect.stringMatching(uuid),
    });
    expect(result.current.control.pending.placing).toBe(false);
    expect(result.current.control.error).toBeUndefined();
    expect(result.current.control.placeCall).toBe(stable);
    const callId = placed.callId!;
    // The call appears through the webhooks that follow, not through the answer.
    await waitFor(() =>
      expect(result.current.active.calls.find((call) => call.callId === callId)?.status).toBe(
        'in-progress',
      ),
    );

    let ending!: Promise<void>;
    act(() => {
      ending = result.current.control.terminateCall(callId);
    });
    await waitFor(() => expect(result.current.control.pending.isTerminating(callId)).toBe(true));
    // A hang-up that names no tenant is the call's in its tenant too.
    expect(result.current.control.pending.isTerminating(callId, { tenantId: 'demo' })).toBe(true);
    expect(result.current.control.pending.isTerminating('CA-other')).toBe(false);
    await act(() => ending);
    expect(result.current.control.pending.isTerminating(callId)).toBe(false);
    await waitFor(() =>
      expect(result.current.active.calls.some((call) => call.callId === callId)).toBe(false),
    );
    expect(await server.tracker.getCall('demo', callId)).toMatchObject({ status: 'completed' });
    expect(server.providerApi.calls[0]).toMatchObject({ reference: placed.reference });
  });

  it('makes a new request id per placeCall', async () => {
    const { server, wrapper } = await setup({ providerApi: { outcome: 'busy' } });
    const { result } = renderHook(() => useCallControl(), { wrapper });
    const first = await act(() => result.current.placeCall({ provider: 'twilio', to: customer }));
    const second = await act(() => result.current.placeCall({ provider: 'twilio', to: customer }));
    expect(first.reference).not.toBe(second.reference);
    expect(server.providerApi.countCalls({ to: customer })).toBe(2);
  });

  it('reports the API’s and the provider’s refusals as error, until reset', async () => {
    const { server, wrapper } = await setup({
      providerApi: {
        fault: (request) => (request.to === '+14155550131' ? { type: 'refuse' } : undefined),
      },
    });
    const { result } = renderHook(() => useCallControl(), { wrapper });
    const invalid = await act(() =>
      result.current.placeCall({ provider: 'twilio', to: 'not a number' }).catch((error) => error),
    );
    expect(CallTrackApiError.isInstance(invalid)).toBe(true);
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_argument' });
    expect(result.current.error).toBe(invalid);
    act(() => result.current.reset());
    expect(result.current.error).toBeUndefined();

    const refused = await act(() =>
      result.current.placeCall({ provider: 'twilio', to: '+14155550131' }).catch((error) => error),
    );
    expect(refused).toMatchObject({
      status: 422,
      code: 'provider_refused',
      provider: 'twilio',
      retryable: false,
    });
    expect(result.current.error).toBe(refused);
    const unknown = await act(() =>
      result.current.terminateCall('CA-unknown').catch((error) => error),
    );
    expect(unknown).toMatchObject({ status: 404, code: 'not_found' });
    expect(result.current.pending.isTerminating('CA-unknown')).toBe(false);
    expect(server.providerApi.countCalls()).toBe(0);
  });

  it('a console of every tenant shows only the named tenant’s call of a shared id as terminating', async () => {
    const sse = await startSseServer();
    cleanups.push(() => sse.close());
    await sse.tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-a' }));
    await sse.tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-b' }));
    // The provider answers a hang-up only when the test lets it: the request is in flight meanwhile.
    const asked: string[] = [];
    const answers = new Map<string, () => void>();
    const api = await serveTrackerApi(sse.tracker, {
      callControl: (_principal, provider, { tenantId }) => ({
        provider,
        placeCall: () => Promise.reject(new Error('not placing calls here')),
        terminateCall: (callId) => {
          asked.push(`${tenantId}/${callId}`);
          return new Promise<void>((resolve) => answers.set(`${tenantId}/${callId}`, resolve));
        },
      }),
    });
    cleanups.push(() => api.close());
    const client = createCallTrackClient({
      transport: testSseTransport(sse, allTenantsToken),
      api: api.apiOptions(allTenantsToken),
    });
    const wrapper = ({ children }: { children?: ReactNode }) =>
      createElement(CallTrackProvider, { client }, children);
    const { result } = renderHook(() => useCallControl(), { wrapper });

    let ending!: Promise<void>;
    act(() => {
      ending = result.current.terminateCall('CA-1', { tenantId: 'tenant-a' });
    });
    await waitFor(() => expect(asked).toEqual(['tenant-a/CA-1']));
    const { isTerminating } = result.current.pending;
    expect(isTerminating('CA-1', { tenantId: 'tenant-a' })).toBe(true);
    expect(isTerminating('CA-1', { tenantId: 'tenant-b' })).toBe(false);
    // Without a tenant: is a call of that id being ended, in any tenant.
    expect(isTerminating('CA-1')).toBe(true);

    answers.get('tenant-a/CA-1')?.();
    await act(() => ending);
    expect(result.current.pending.isTerminating('CA-1')).toBe(false);
    expect(result.current.pending.isTerminating('CA-1', { tenantId: 'tenant-a' })).toBe(false);
  });

  it('needs a client with an api', async () => {
    server = await startConsoleServer();
    const { transport } = consoleClientOptions(server);
    const client = createCallTrackClient({ transport });
    const wrapper = ({ children }: { children?: ReactNode }) =>
      createElement(CallTrackProvider, { client }, children);
    expect(() => renderHook(() => useCallControl(), { wrapper })).toThrow(/api: \{ baseUrl/);
  });
});

describe('useAnalytics', () => {
  it('loads the tenant’s analytics and reloads (debounced) when calls end', async () => {
    const { server, wrapper } = await setup();
    await server.tracker.ingest(demoCall('CA-1'));
    await server.tracker.ingest(demoEnded('CA-1'));
    const { result } = renderHook(
      () => ({
        analytics: useAnalytics({ granularity: 'hour' }, { debounceMs: 20 }),
        ...useConnectionState(),
      }),
      { wrapper },
    );
    expect(result.current.analytics.loading).toBe(true);
    await waitFor(() => expect(result.current.analytics.data?.totals.endedCalls).toBe(1));
    expect(result.current.analytics).toMatchObject({
      loading: false,
      error: undefined,
      data: { tenantId: 'demo', granularity: 'hour' },
    });
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await act(async () => {
      for (const id of ['CA-2', 'CA-3']) {
        await server.tracker.ingest(demoCall(id));
        await server.tracker.ingest(demoEnded(id));
      }
    });
    await waitFor(() => expect(result.current.analytics.data?.totals.endedCalls).toBe(3));
    expect(result.current.analytics.data?.totals.startedCalls).toBe(3);
  });

  it('reloads for a new range, and reports a refused range as error', async () => {
    const { wrapper } = await setup();
    const { result, rerender } = renderHook(
      ({ from }: { from: string | number }) => useAnalytics({ from, granularity: 'day' }),
      { wrapper, initialProps: { from: Date.now() - 86_400_000 } as { from: string | number } },
    );
    await waitFor(() => expect(result.current.data?.granularity).toBe('day'));
    rerender({ from: 'last tuesday' });
    await waitFor(() => expect(result.current.error).toBeDefined());
    expect(result.current.error).toMatchObject({ status: 400, code: 'invalid_argument' });
    // The last good data stays.
    expect(result.current.data?.granularity).toBe('day');
    await act(() => result.current.refresh());
    expect(result.current.loading).toBe(false);
  });

  it('drops the data of the previous client’s API when the provider’s client changes', async () => {
    server = await startConsoleServer();
    await server.tracker.ingest(demoCall('CA-1'));
    await server.tracker.ingest(demoEnded('CA-1'));
    const demo = createCallTrackClient(consoleClientOptions(server));
    // Another tenant's console whose API refuses it (no credentials): 401.
    const refused = createCallTrackClient({
      transport: consoleClientOptions(server, 'tenant-b').transport,
      api: { baseUrl: `${server.url}/api` },
    });
    let clientOfProvider = demo;
    const wrapper = ({ children }: { children?: ReactNode }) =>
      createElement(CallTrackProvider, { client: clientOfProvider }, children);
    const { result, rerender } = renderHook(() => useAnalytics({ granularity: 'hour' }), {
      wrapper,
    });
    await waitFor(() => expect(result.current.data?.totals.endedCalls).toBe(1));

    clientOfProvider = refused;
    rerender();
    expect(result.current).toMatchObject({ data: undefined, loading: true, error: undefined });
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.error).toMatchObject({ name: 'CallTrack_ApiError', status: 401 });
    expect(result.current.data).toBeUndefined();
  });

  it('a reload still waiting for its debounce when the client changes asks the new client’s API', async () => {
    server = await startConsoleServer();
    const target = server;
    const requests: string[] = [];
    const counting =
      (tenantId: string): typeof fetch =>
      (input, init) => {
        requests.push(tenantId);
        return fetch(input, init);
      };
    const demoCounted = createCallTrackClient({
      ...consoleClientOptions(server),
      api: { ...consoleClientOptions(server).api, fetch: counting('demo') },
    });
    const other = createCallTrackClient({
      ...consoleClientOptions(server, 'tenant-b'),
      api: { ...consoleClientOptions(server, 'tenant-b').api, fetch: counting('tenant-b') },
    });
    let clientOfProvider = demoCounted;
    const wrapper = ({ children }: { children?: ReactNode }) =>
      createElement(CallTrackProvider, { client: clientOfProvider }, children);
    const { result, rerender } = renderHook(
      () => ({ analytics: useAnalytics({}, { debounceMs: 300 }), ...useConnectionState() }),
      { wrapper },
    );
    await waitFor(() => expect(result.current.analytics.loading).toBe(false));
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    expect(requests).toEqual(['demo']);

    // A call ends: a reload is due in 300 ms; the provider's client changes before that.
    const ended = new Promise<void>((resolve) => {
      const stop = demoCounted.onEvent(() => {
        stop();
        resolve();
      });
    });
    await target.tracker.ingest(demoCall('CA-1'));
    await target.tracker.ingest(demoEnded('CA-1'));
    await act(() => ended);
    clientOfProvider = other;
    rerender();
    await waitFor(() => expect(requests).toEqual(['demo', 'tenant-b', 'tenant-b']));
    // The debounced reload's request is out; its answer may not be in yet.
    await waitFor(() =>
      expect(result.current.analytics).toMatchObject({
        loading: false,
        error: undefined,
        data: { tenantId: 'tenant-b' },
      }),
    );
    expect(requests).toEqual(['demo', 'tenant-b', 'tenant-b']);
  });
});

describe('useAlerts', () => {
  it('lists the tracker’s alert.* events, newest first, shared by every component, with dismiss and clear', async () => {
    const { server, client, wrapper } = await setup({
      alerts: { isAgentAvailable: () => false },
    });
    const { result } = renderHook(
      () => ({
        all: useAlerts(),
        latest: useAlerts({ limit: 2 }),
        ...useConnectionState(),
      }),
      { wrapper },
    );
    await waitFor(() => expect(result.current.isConnected).toBe(true));
    await act(async () => {
      // One alert per branch (the rule's subject).
      for (const id of ['CA-1', 'CA-2', 'CA-3']) {
        await server.tracker.ingest(demoCall(id, { branchId: `branch-${id}` }));
      }
    });
    await waitFor(() => expect(result.current.all.alerts).toHaveLength(3));
    expect(result.current.all.alerts.map((alert) => alert.callId)).toEqual([
      'CA-3',
      'CA-2',
      'CA-1',
    ]);
    expect(
      result.current.all.alerts.every((alert) => alert.type === 'alert.no_agent_available'),
    ).toBe(true);
    expect(result.current.latest.alerts.map((alert) => alert.callId)).toEqual(['CA-3', 'CA-2']);

    const first = result.current.all.alerts[2]!;
    act(() => result.current.latest.dismiss(result.current.latest.alerts[0]!.id));
    expect(result.current.all.alerts.map((alert) => alert.callId)).toEqual(['CA-2', 'CA-1']);
    expect(client.getSnapshot().alerts).toBe(result.current.all.alerts);
    act(() => result.current.all.clear());
    expect(result.current.latest.alerts).toEqual([]);
    expect(first.callId).toBe('CA-1');
  });

  it('re-renders when an alert arrives or is dismissed, not for call events that raise none', async () => {
    const { server, client, wrapper } = await setup({
      alerts: { isAgentAvailable: () => false },
    });
    let renders = 0;
    const alerts = renderHook(
      () => {
        renders += 1;
        return useAlerts();
      },
      { wrapper },
    );
    const connection = renderHook(() => useConnectionState(), { wrapper });
    await waitFor(() => expect(connection.result.current.isConnected).toBe(true));
    await act(() => server.tracker.ingest(demoCall('CA-1', { branchId: 'branch-1' })));
    await waitFor(() => expect(alerts.result.current.alerts).toHaveLength(1));
    const afterAlert = renders;

    // Later events of the call raise no alert: the list is unchanged, nothing re-renders.
    const answered = demoCall('CA-1', {
      branchId: 'branch-1',
      type: 'call.answered',
      status: 'in-progress',
    });
    await act(() => server.tracker.ingest(answered));
    await act(() => server.tracker.ingest(demoEnded('CA-1')));
    await waitFor(() => expect(client.getSnapshot().lastEvent?.type).toBe('call.ended'));
    await act(async () => {});
    expect(client.getSnapshot().alerts).toHaveLength(1);
    expect(renders).toBe(afterAlert);

    act(() => alerts.result.current.dismiss(alerts.result.current.alerts[0]!.id));
    expect(alerts.result.current.alerts).toEqual([]);
    expect(renders).toBe(afterAlert + 1);
  });
});
