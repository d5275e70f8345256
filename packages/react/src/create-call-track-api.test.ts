import { createMemoryBus } from '@calltrack/bus';
import { testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { afterEach, describe, expect, it } from 'vitest';
import { serveTrackerApi } from './__tests__/serve-tracker-api';
import { callEvent } from './__tests__/start-sse-server';
import { CallTrackApiError } from './call-track-api-error';
import { createCallTrackApi } from './create-call-track-api';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('createCallTrackApi', () => {
  it('reads a call whose id is "count", which the plain path would answer with the counts', async () => {
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: testEventClock(),
      logger: {},
    });
    await tracker.ingest(callEvent('count'));
    const server = await serveTrackerApi(tracker);
    cleanups.push(() => server.close());
    const api = createCallTrackApi(server.apiOptions());
    expect(await api.getCall('count')).toMatchObject({ callId: 'count', status: 'ringing' });
  });

  it('reads and ends calls whose ids URLs would resolve away or take for a route', async () => {
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: testEventClock(),
      logger: {},
    });
    const ids = ['.', '..', 'active', 'count', 'a/b'];
    for (const callId of ids) {
      await tracker.ingest(callEvent(callId, { type: 'call.ended', status: 'completed' }));
    }
    // The calls have ended: the tracker answers for them, the adapter is never asked.
    const unused = { provider: 'twilio', placeCall: neverCalled, terminateCall: neverCalled };
    const server = await serveTrackerApi(tracker, { callControl: { twilio: unused } });
    cleanups.push(() => server.close());
    const api = createCallTrackApi(server.apiOptions());
    for (const callId of ids) {
      expect(await api.getCall(callId), callId).toMatchObject({ callId, status: 'completed' });
      expect(await api.terminateCall(callId), callId).toEqual({ callId, status: 'completed' });
    }
  });

  it('ends the named tenant’s call for a console of every tenant, when two tenants share its id', async () => {
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: testEventClock(),
      logger: {},
    });
    await tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-a' }));
    await tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-b' }));
    const ended: string[] = [];
    const server = await serveTrackerApi(tracker, {
      callControl: (_principal, provider, { tenantId }) => ({
        provider,
        placeCall: neverCalled,
        terminateCall: async (callId: string) => {
          ended.push(`${tenantId}/${callId}`);
        },
      }),
    });
    cleanups.push(() => server.close());
    const api = createCallTrackApi(server.apiOptions('all-tenants'));
    expect(await api.terminateCall('CA-1', { tenantId: 'tenant-b' })).toEqual({
      callId: 'CA-1',
      status: 'terminating',
    });
    expect(await api.terminateCall('CA-1', { tenantId: 'tenant-a' })).toMatchObject({
      status: 'terminating',
    });
    expect(ended).toEqual(['tenant-b/CA-1', 'tenant-a/CA-1']);
  });

  it('sends credentials same-origin by default, and fails with status 0 network_error when no answer comes', async () => {
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: testEventClock(),
      logger: {},
    });
    await tracker.ingest(callEvent('CA-1'));
    const server = await serveTrackerApi(tracker);
    const sent: (RequestCredentials | undefined)[] = [];
    const api = createCallTrackApi({
      ...server.apiOptions(),
      fetch: (input, init) => {
        sent.push(init?.credentials);
        return fetch(input, init);
      },
    });
    expect(await api.getCall('CA-1')).toMatchObject({ callId: 'CA-1' });
    expect(sent).toEqual(['same-origin']);

    await server.close();
    const failure = await api.getCall('CA-1').catch((error: unknown) => error);
    expect(CallTrackApiError.isInstance(failure)).toBe(true);
    expect(failure).toMatchObject({ status: 0, code: 'network_error' });
  });
});

async function neverCalled(): Promise<never> {
  throw new Error('The call-control adapter was asked, for an ended call.');
}
