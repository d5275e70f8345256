import type { CallAnalytics as TrackerCallAnalytics } from '@calltrack/tracker';
import { describe, expectTypeOf, it } from 'vitest';
import type { CallAnalytics } from './call-analytics';

describe('CallAnalytics', () => {
  it('is the shape the tracker answers (checked by the type checker, so the two cannot drift)', () => {
    expectTypeOf<CallAnalytics>().toEqualTypeOf<TrackerCallAnalytics>();
  });
});
