import { createMemoryBus } from '@calltrack/bus';
import { createPresence } from '@calltrack/presence';
import { makeCallEvent, startWebhookReceiver } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('fan-out of user-addressed events', () => {
  it("sends presence's private user.message only to endpoints that name its type exactly", async () => {
    const receiver = await startWebhookReceiver();
    const bus = createMemoryBus();
    const store = createMemoryWebhookStore();
    const dispatcher = createWebhookDispatcher({
      bus,
      store,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
    });
    const presence = createPresence({ bus, autoHeartbeat: false, leaveDelayMs: 0 });
    cleanups.push(
      () => receiver.close(),
      () => bus.close(),
      () => store.close(),
      () => dispatcher.close(),
      () => presence.stop(),
    );
    await dispatcher.start();
    const endpoint = async (path: string, events?: string[]) =>
      (
        await dispatcher.createEndpoint('acme', {
          url: `${receiver.url}${path}`,
          ...(events ? { events } : {}),
        })
      ).endpoint.id;
    const all = await endpoint('/all');
    const userWildcard = await endpoint('/user-wildcard', ['user.*']);
    await endpoint('/named', ['user.message']);

    await presence.connect({ tenantId: 'acme', userId: 'agent-7' }, { connectionId: 'c1' });
    await presence.send('acme', 'agent-7', { text: 'Call the Jones account back' });
    const [named] = await receiver.waitFor(1, { path: '/named' });
    expect(JSON.parse(named!.body)).toMatchObject({
      type: 'user.message',
      data: { userId: 'agent-7', data: { audience: 'user' } },
    });
    // The endpoint that named the type got it: the others' deliveries were decided in the same
    // fan-out step, so none exists now.
    const messageId = named!.headers['webhook-id']!;
    expect(await store.getDelivery('acme', all, messageId)).toBeUndefined();
    expect(await store.getDelivery('acme', userWildcard, messageId)).toBeUndefined();

    // Everything else still reaches "*" (presence.online came first, this call after).
    await bus.publish(makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }));
    const received = await receiver.waitFor(2, { path: '/all' });
    expect(received.map((request) => JSON.parse(request.body).type).sort()).toEqual([
      'call.ended',
      'presence.online',
    ]);
    expect(receiver.received('/user-wildcard')).toHaveLength(0);

    // Nor can a resend hand it to an endpoint that does not name the type: the message is not
    // found there, as it would not be for another tenant.
    for (const endpointId of [all, userWildcard]) {
      await expect(dispatcher.resend('acme', endpointId, messageId)).rejects.toMatchObject({
        status: 404,
      });
      expect(await store.getDelivery('acme', endpointId, messageId)).toBeUndefined();
    }
    expect(receiver.received('/all')).toHaveLength(2);
  });
});
