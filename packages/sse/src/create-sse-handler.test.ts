import { createMemoryBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { bearer, describeSseHandler } from './__tests__/describe-sse-handler';
import { SseReader } from './__tests__/read-sse';
import { createSseHandler } from './create-sse-handler';

describeSseHandler('createSseHandler + toNodeHandler', (options) =>
  toNodeHandler(createSseHandler(options)),
);

describe('createSseHandler', () => {
  it('is a plain fetch handler: a Request in, a streaming Response out', async () => {
    const bus = createMemoryBus();
    const handler = createSseHandler({ bus, authenticate: bearer, retryMs: 0 });
    const controller = new AbortController();
    const response = await handler(
      new Request('http://localhost/events', {
        headers: { authorization: 'Bearer tenant-a:u1' },
        signal: controller.signal,
      }),
    );
    expect(response.status).toBe(200);
    const reader = new SseReader(response.body!);
    expect(await reader.next()).toEqual({ retry: 0, comments: [] });
    const event = makeCallEvent();
    const { cursor } = await bus.publish(event);
    expect((await reader.events(1))[0]).toMatchObject({ id: cursor, event: 'call' });
    controller.abort();
    expect(await reader.toEnd()).toEqual([]);
  });

  it('refuses options it cannot work with', () => {
    const bus = createMemoryBus();
    // @ts-expect-error: no authenticate
    expect(() => createSseHandler({ bus })).toThrow(/authenticate/);
    // @ts-expect-error: no bus
    expect(() => createSseHandler({ authenticate: bearer })).toThrow(/bus/);
    expect(() => createSseHandler({ bus, authenticate: bearer, keepAliveMs: -1 })).toThrow(
      /keepAliveMs/,
    );
    expect(() => createSseHandler({ bus, authenticate: bearer, retryMs: 1.5 })).toThrow(/retryMs/);
  });
});
