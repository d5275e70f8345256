import type { CallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, makeCallEvent, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBusCursor } from './bus-cursor';
import { createRedisBus } from './create-redis-bus';
import type { EventBus } from './event-bus';
import { redisBusKeys } from './redis-bus-keys';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus-dedupe');

// Processes of a rolling change share a prefix with different history.maxEvents: the small
// ones publish most, so the larger ones raise the id generations over ids already in both keys.
const sizes = [2, 3, 4, 5, 7, 11] as const;
const idCount = 6;
const TRIM_EVERY = 32;

type Command =
  | { kind: 'publish'; bus: number; id: number }
  /** What another epoch may have left in an id key: an id with a seq that is not its entry. */
  | { kind: 'stale'; key: 0 | 1; id: number; seq: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      bus: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 1 }) },
        { weight: 1, arbitrary: fc.integer({ min: 2, max: sizes.length - 1 }) },
      ),
      id: fc.integer({ min: 0, max: idCount - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stale' as const),
      key: fc.constantFrom(0 as const, 1 as const),
      id: fc.integer({ min: 0, max: idCount - 1 }),
      seq: fc.integer({ min: 1, max: 80 }),
    }),
  },
);

/**
 * What the bus promises for each publish, as a model of seqs: a copy of an id (a seq it was
 * published at) may be its duplicate while it is in the publishing process's window and its entry
 * was not trimmed; the newest copy must be, unless a raise came when it had already left the
 * window of the generations of the time (their ids are all the raise keeps).
 */
interface Model {
  top: number;
  /** Ids per generation: the first publisher's maxEvents, raised, never lowered. */
  size: number;
  /** Entries below this seq were trimmed. */
  trimmedBelow: number;
  copies: Map<number, number[]>;
  /** Ids whose newest copy a raise may have dropped. */
  forgotten: Set<number>;
}

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)(
  'createRedisBus de-duplication across processes with different maxEvents',
  () => {
    const client = redis as Redis;
    let run = 0;

    it('answers every publish as the model of windows and generations allows', async () => {
      const buses: EventBus[] = sizes.map((maxEvents) =>
        createRedisBus({ redis: client, prefix, history: { maxEvents, maxAgeMs: 3_600_000 } }),
      );
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(command, { minLength: 1, maxLength: 70, size: 'max' }),
            async (commands) => {
              run += 1;
              const tenantId = `tenant-${run}`;
              const keys = redisBusKeys(prefix, tenantId);
              const events: CallEvent[] = Array.from({ length: idCount }, () =>
                makeCallEvent({ tenantId }),
              );
              const model: Model = {
                top: 0,
                size: 0,
                trimmedBelow: 0,
                copies: new Map(),
                forgotten: new Set(),
              };
              for (const step of commands) {
                if (step.kind === 'stale') {
                  // Only where the id is not: a stale value never replaces a live one in one key.
                  await client.hsetnx(keys.ids[step.key], events[step.id]!.id, step.seq);
                  continue;
                }
                const maxEvents = sizes[step.bus]!;
                if (model.size === 0) model.size = maxEvents;
                else if (maxEvents > model.size) {
                  for (const [id, seqs] of model.copies) {
                    if (seqs.at(-1)! <= model.top - model.size) model.forgotten.add(id);
                  }
                  model.size = maxEvents;
                }
                const seqs = model.copies.get(step.id) ?? [];
                const inWindow = seqs.filter(
                  (seq) => seq > model.top - maxEvents && seq >= model.trimmedBelow,
                );
                const newest = seqs.at(-1);
                const mustBeDuplicate =
                  newest !== undefined &&
                  inWindow.includes(newest) &&
                  !model.forgotten.has(step.id);
                const answer = await buses[step.bus]!.publish(events[step.id]!);
                const seq = parseBusCursor(answer.cursor)?.seq;
                const context = { step, seqs, top: model.top, size: model.size, answer };
                if (answer.duplicate) {
                  expect(inWindow, JSON.stringify(context)).toContain(seq);
                  continue;
                }
                expect(mustBeDuplicate, JSON.stringify(context)).toBe(false);
                expect(seq, JSON.stringify(context)).toBe(model.top + 1);
                model.top += 1;
                model.copies.set(step.id, [...seqs, model.top]);
                model.forgotten.delete(step.id);
                if (model.top % TRIM_EVERY === 0) {
                  model.trimmedBelow = Math.max(model.trimmedBelow, model.top - maxEvents);
                }
              }
            },
          ),
          {
            numRuns: 150,
            // The review's case: e1 published again (seq 5) after it left the window of 3; a
            // raise to 5 must keep seq 5 for it, not seq 1.
            examples: [
              [
                [1, 2, 3, 4, 1, 5, 1].map(
                  (id): Command => ({ kind: 'publish', bus: id === 5 ? 3 : 1, id: id - 1 }),
                ),
              ],
            ],
          },
        );
      } finally {
        await Promise.all(buses.map((bus) => bus.close()));
      }
    }, 120_000);
  },
);
