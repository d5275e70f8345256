import { isSealedCallEvent } from '@calltrack/core';

interface Spied {
  mock: { calls: unknown[][] };
  mockClear(): void;
}

/**
 * Counts the event validations core's exported functions made, in a test file that spies on
 * them all (`vi.mock(import('@calltrack/core'), { spy: true })`): every `parseCallEvent`, and
 * every `sealCallEvent` or `withCallSnapshot` given an event that was not sealed yet (a sealed
 * one is taken as it is).
 */
export function countEventValidations(spied: {
  parseCallEvent: unknown;
  sealCallEvent: unknown;
  withCallSnapshot: unknown;
}) {
  const parse = spied.parseCallEvent as Spied;
  const sealing = [spied.sealCallEvent, spied.withCallSnapshot] as Spied[];
  return {
    count: (): number =>
      parse.mock.calls.length +
      sealing.flatMap((fn) => fn.mock.calls).filter(([event]) => !isSealedCallEvent(event)).length,
    clear: (): void => {
      for (const fn of [parse, ...sealing]) fn.mockClear();
    },
  };
}
