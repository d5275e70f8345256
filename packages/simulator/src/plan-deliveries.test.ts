import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCallScript } from './create-call-script';
import { demoLines } from './demo-lines';
import { planDeliveries } from './plan-deliveries';
import { createRandom } from './random';
import { simulatedOutcomes } from './simulated-outcome';

const scripts = fc
  .record({
    seed: fc.nat(),
    line: fc.constantFrom(...demoLines),
    outcome: fc.constantFrom(...simulatedOutcomes),
  })
  .map((options) => createCallScript(options));

describe('planDeliveries', () => {
  it('without duplicates or reordering, delivers the script as it is', () => {
    fc.assert(
      fc.property(scripts, fc.nat(), (script, seed) => {
        const plan = planDeliveries(script.webhooks, {
          random: createRandom(seed),
          duplicateRate: 0,
          reorder: false,
        });
        expect(plan.map((step) => step.webhook)).toEqual(script.webhooks);
        expect(plan.every((step) => !step.duplicate && !step.reordered)).toBe(true);
      }),
    );
  });

  it('with duplicateRate 1, delivers every webhook twice, the copy after the original', () => {
    fc.assert(
      fc.property(scripts, fc.nat(), (script, seed) => {
        const plan = planDeliveries(script.webhooks, {
          random: createRandom(seed),
          duplicateRate: 1,
          reorder: false,
        });
        expect(plan).toHaveLength(2 * script.webhooks.length);
        script.webhooks.forEach((_, index) => {
          const original = plan.findIndex((step) => step.index === index && !step.duplicate);
          const copy = plan.findIndex((step) => step.index === index && step.duplicate);
          expect(copy).toBeGreaterThan(original);
          expect(plan[copy]!.webhook).toBe(plan[original]!.webhook);
        });
      }),
    );
  });

  it('with reorder, holds exactly one webhook back past a later one', () => {
    fc.assert(
      fc.property(scripts, fc.nat(), (script, seed) => {
        const plan = planDeliveries(script.webhooks, {
          random: createRandom(seed),
          duplicateRate: 0,
          reorder: true,
        });
        const order = plan.map((step) => step.index);
        if (script.webhooks.length < 2) {
          expect(order).toEqual([0]);
          return;
        }
        expect(plan.filter((step) => step.reordered)).toHaveLength(1);
        expect(order).not.toEqual([...order].sort((left, right) => left - right));
        expect([...order].sort((left, right) => left - right)).toEqual(
          script.webhooks.map((_, index) => index),
        );
        const times = plan.map((step) => step.atMs);
        expect(times).toEqual([...times].sort((left, right) => left - right));
      }),
    );
  });
});
