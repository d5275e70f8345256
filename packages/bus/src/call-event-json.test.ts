import { InvalidEventError, sealCallEvent } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { callEventJson } from './call-event-json';

describe('callEventJson', () => {
  it('writes a sealed event as JSON.stringify does', () => {
    const sealed = sealCallEvent(makeCallEvent({ raw: { at: new Date(0) } }));
    expect(callEventJson(sealed)).toBe(JSON.stringify(sealed));
  });

  it('writes a plain event each time: it may have changed', () => {
    const event = makeCallEvent();
    expect(callEventJson(event)).toBe(JSON.stringify(event));
    event.status = 'in-progress';
    expect(JSON.parse(callEventJson(event)).status).toBe('in-progress');
  });

  it('answers a value that throws while being written with InvalidEventError (400)', () => {
    const event = makeCallEvent();
    Object.defineProperty(event.data, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    let error: unknown;
    try {
      callEventJson(event);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect((error as InvalidEventError).status).toBe(400);
  });
});
