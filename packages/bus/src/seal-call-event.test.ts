import { InvalidEventError } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { take } from './__tests__/collect';
import { createMemoryBus } from './create-memory-bus';
import { callEventJson, isSealedCallEvent, sealCallEvent } from './seal-call-event';

describe('sealCallEvent', () => {
  it('returns a validated copy, frozen all the way down, that cannot become invalid', () => {
    const input = makeCallEvent({
      data: { analysis: { summary: { text: 'ok' } } },
      raw: { a: [1] },
    });
    const sealed = sealCallEvent(input);
    expect(sealed).toEqual(input);
    expect(isSealedCallEvent(sealed)).toBe(true);
    expect(isSealedCallEvent(input)).toBe(false);
    expect(() => {
      (sealed as { status: string }).status = 'answered';
    }).toThrowError(TypeError);
    expect(() => {
      (sealed.data.analysis as { summary: { text: unknown } }).summary.text = 10n;
    }).toThrowError(TypeError);
    expect(() => (sealed.raw as { a: unknown[] }).a.push({})).toThrowError(TypeError);
    expect(sealCallEvent(sealed)).toBe(sealed);
  });

  it('refuses what publish refuses, with the same InvalidEventError', () => {
    const error = (() => {
      try {
        sealCallEvent({ ...makeCallEvent(), status: 'answered' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect((error as InvalidEventError).field).toBe('status');
  });

  it('is published as it is by the memory bus, and written once as JSON for Redis', async () => {
    const bus = createMemoryBus();
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    const sealed = sealCallEvent(makeCallEvent());
    await bus.publish(sealed);
    const [message] = await take(subscription, 1);
    expect(message?.type === 'event' && message.event).toBe(sealed);
    expect(callEventJson(sealed)).toBe(JSON.stringify(sealed));
    expect(callEventJson(sealed)).toBe(callEventJson(sealed));
    await bus.close();
  });

  it('leaves a plain event alone: it is validated on every publish, and its JSON written each time', () => {
    const event = makeCallEvent();
    expect(Object.isFrozen(event)).toBe(false);
    expect(callEventJson(event)).toBe(JSON.stringify(event));
  });
});
