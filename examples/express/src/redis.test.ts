import { createSimulator, demoLines } from '@calltrack/simulator';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { endedCall, openEventStream } from './__tests__/open-event-stream';
import { postTwilio, twilioStatus } from './__tests__/signed-webhooks';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

// Two instances, each with its own ioredis client as two processes would have, on one Redis.
const redisA = await connectTestRedis();
const redisB = await connectTestRedis();
const prefix = uniquePrefix('express');
const twilioSouth = demoLines.find(
  (line) => line.provider === 'twilio' && line.branchId === 'south',
)!.number;

afterAll(async () => {
  if (redisA) {
    await deleteKeys(redisA, prefix);
    redisA.disconnect();
  }
  redisB?.disconnect();
});

describe.skipIf(!redisA || !redisB)('two instances of the example sharing one Redis', () => {
  afterEach(stopDemoApps);

  const startTwo = async () => {
    const a = await startDemoApp({ redis: redisA as Redis, redisPrefix: prefix });
    const b = await startDemoApp({ redis: redisB as Redis, redisPrefix: prefix });
    return { a, b };
  };

  it("shows a call fed into instance A on B's read API and B's SSE stream", async () => {
    const { a, b } = await startTwo();
    const streamB = openEventStream(b.url);
    await streamB.until((messages) => messages.some((message) => message.type === 'snapshot'));

    const callSid = `CA${Date.now().toString(16).padStart(32, '0')}`;
    const send = (status: Parameters<typeof twilioStatus>[0]['status'], sequence: number) =>
      postTwilio(a.url, twilioStatus({ callSid, status, sequence, line: twilioSouth }));
    expect((await send('ringing', 1)).status).toBe(200);
    expect((await send('in-progress', 2)).status).toBe(200);

    const activeOnB = await (await fetch(`${b.url}/api/calls/active`)).json();
    expect(activeOnB.calls).toEqual([
      expect.objectContaining({ callId: callSid, status: 'in-progress', branchId: 'south' }),
    ]);
    const countOnB = await (await fetch(`${b.url}/api/calls/active/count`)).json();
    expect(countOnB).toEqual({ total: 1, byBranch: { south: 1 } });

    expect((await send('completed', 3)).status).toBe(200);
    await streamB.until(endedCall(callSid));
    expect(streamB.eventsOf(callSid).map((event) => event.type)).toEqual([
      'call.ringing',
      'call.answered',
      'call.ended',
    ]);
    expect((await (await fetch(`${b.url}/api/calls/active`)).json()).calls).toEqual([]);
    streamB.close();
  });

  it("delivers simulated calls posted to A to B's stream, and a browser resumes on B", async () => {
    const { a, b } = await startTwo();
    const streamA = openEventStream(a.url);
    await streamA.until((messages) => messages.some((message) => message.type === 'snapshot'));

    const simulator = createSimulator({ target: a.url, speed: Number.POSITIVE_INFINITY, seed: 5 });
    const first = await simulator.runCall({ provider: 'retell', outcome: 'completed' });
    // Every webhook of the call was answered, so its events are on the bus; a sentinel call
    // published after them marks the point where the stream has received all of them.
    const sentinel = `CA${'5'.repeat(32)}`;
    await postTwilio(
      a.url,
      twilioStatus({ callSid: sentinel, status: 'ringing', sequence: 1, line: twilioSouth }),
    );
    await streamA.until(() => streamA.eventsOf(sentinel).length === 1);
    expect(streamA.eventsOf(first.callId).map((event) => event.type)).toContain('call.ended');
    const lastSeen = streamA.received.at(-1)!.lastEventId;
    streamA.close();

    // A browser that was on A reconnects to B with its last event id, and misses nothing.
    const second = await simulator.runCall({ provider: 'callerdesk', outcome: 'no-answer' });
    const streamB = openEventStream(b.url, `?lastEventId=${encodeURIComponent(lastSeen)}`);
    await streamB.until(endedCall(second.callId));
    expect(streamB.received[0]?.type).toBe('call');
    expect(streamB.eventsOf(first.callId)).toEqual([]);
    expect(streamB.eventsOf(second.callId).at(-1)).toMatchObject({
      type: 'call.ended',
      status: 'no-answer',
      branchId: 'bengaluru',
    });
    streamB.close();
  });
});
