import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from './on-abort';

describe('onAbort', () => {
  it('keeps one listener on a shared signal, calls each callback once, and leaves none behind', () => {
    const controller = new AbortController();
    const calls: number[] = [];
    const offs = Array.from({ length: 50 }, (_, index) =>
      onAbort(controller.signal, () => calls.push(index)),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    offs[3]?.();
    offs[3]?.();
    controller.abort();
    controller.abort();
    expect(calls).toEqual(Array.from({ length: 50 }, (_, index) => index).filter((i) => i !== 3));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const quiet = new AbortController();
    const stops = [onAbort(quiet.signal, () => {}), onAbort(quiet.signal, () => {})];
    for (const stop of stops) stop();
    expect(getEventListeners(quiet.signal, 'abort')).toHaveLength(0);
    // Listening again after every callback left works as new.
    let ended = false;
    onAbort(quiet.signal, () => {
      ended = true;
    });
    quiet.abort();
    expect(ended).toBe(true);
  });

  it('calls the other callbacks when one throws', () => {
    const controller = new AbortController();
    const called: string[] = [];
    onAbort(controller.signal, () => {
      throw new Error('broken');
    });
    onAbort(controller.signal, () => called.push('second'));
    controller.abort();
    expect(called).toEqual(['second']);
  });
});
