import { callStatuses } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { analyticsBucketsLua } from './analytics-buckets-lua';
import {
  analyticsBucketMs,
  analyticsBucketStart,
  analyticsGranularities,
  analyticsTracksAgentTime,
} from './analytics-granularity';
import { applyCallTransitionLua } from './apply-call-transition-lua';
import { callIndexesLua } from './call-indexes-lua';
import { type CallPosition, compareCallPositions } from './call-position';
import { callPositionLua } from './call-position-lua';
import {
  callStatusRanks,
  isActiveStatus,
  noStatusRank,
  statusRank,
  terminalStatusRank,
} from './call-status-rank';
import { callStatusRankLua } from './call-status-rank-lua';
import { callIdentityFills } from './call-transition';
import { composeLuaScript, defineLuaFragment, listLuaFragments } from './lua-fragment';
import { callLifecycle, transitionOf } from './make-call-event';
import {
  applyTransitionFragments,
  applyTransitionScript,
  composeApplyTransitionScript,
  decodeApplyTransitionReply,
  encodeApplyTransitionArgs,
  encodeApplyTransitionSettings,
  noAfterCallTransitionLua,
} from './redis-apply-transition-script';
import { redisCallSnapshotFields, redisEventMarks } from './redis-call-hash';
import { redisCallHashLua, redisCallSnapshotLua } from './redis-call-hash-lua';
import {
  claimUnpublishedEndsScript,
  markPublishedScript,
  markPublishFailedScript,
} from './redis-call-store-scripts';
import { composeRedisIngestScript } from './redis-ingest-script';

const source = applyTransitionScript.source;
const occurrences = (text: string, part: string): number => text.split(part).length - 1;
/** Names the script's top level defines (`local x =`, `local function x`). */
const topLevelNames = (script: string): string[] =>
  [...script.matchAll(/^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)/gm)].map((match) => match[1]!);

describe('the apply script, as composed', () => {
  it('is its fragments, each exactly once, in dependency order, with the seam before the body', () => {
    expect(listLuaFragments(source)).toEqual([
      'redis-call-hash',
      'call-status-rank',
      'call-position',
      'analytics-buckets',
      'apply-call-transition',
      'call-indexes',
      'after-call-transition',
      'apply-transition-body',
      'apply-transition-run',
    ]);
    for (const fragment of [...applyTransitionFragments, noAfterCallTransitionLua]) {
      expect(occurrences(source, fragment.source), fragment.name).toBe(1);
    }
  });

  it('defines every top-level name once, in one naming style (camelCase)', () => {
    const names = topLevelNames(source);
    expect(names.length).toBeGreaterThan(30);
    expect(new Set(names).size).toBe(names.length);
    for (const script of [source, markPublishedScript.source, claimUnpublishedEndsScript.source]) {
      const locals = [...script.matchAll(/\blocal (?:function )?([A-Za-z_][A-Za-z0-9_, ]*)/g)]
        .flatMap((match) => match[1]!.split(','))
        .map((name) => name.trim());
      for (const name of locals) expect(name).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
  });

  it('has no bare status ranks: outside their fragment, ranks are compared by name', () => {
    expect(occurrences(source, callStatusRankLua.source)).toBe(1);
    const rest = source.replace(callStatusRankLua.source, '');
    expect(rest).not.toMatch(/rank\w*\s*(?:[<>]=?|[=~]=)\s*-?\d/i);
    expect(rest).not.toMatch(/(?:[<>]=?|[=~]=)\s*[23]\b/);
    expect(rest).toMatch(/currentRank == terminalStatusRank/);
  });

  it('composes the ingest script: the bus publish and the snapshot JSON before the seam, each name once', () => {
    const busFunctions = `
local function calltrack_open(meta) return { epoch = 'e' } end
local function calltrack_publish(t, json, id) return 1, 0, 0 end
local function calltrack_close(t) end`;
    const script = composeRedisIngestScript(busFunctions);
    expect(listLuaFragments(script)).toEqual([
      ...applyTransitionFragments.map((fragment) => fragment.name),
      'redis-call-snapshot-json',
      'redis-bus-publish',
      'after-call-transition',
      'apply-transition-body',
      'apply-transition-run',
    ]);
    const names = topLevelNames(script);
    expect(new Set(names).size).toBe(names.length);
    // Lua allows 200 locals in a chunk: the composed script stays well under it.
    expect(names.length).toBeLessThan(150);
  });

  it('takes a fragment in the seam only under the seam name', () => {
    const seam = defineLuaFragment(
      'after-call-transition',
      'local function afterCallTransition() end',
    );
    expect(listLuaFragments(composeApplyTransitionScript(seam))).toContain('after-call-transition');
    expect(() =>
      composeApplyTransitionScript(defineLuaFragment('publish', 'local x = 1')),
    ).toThrowError(/after-call-transition/);
  });

  it('passes the transition positionally (times as text and ISO text, settings in whole ms in one text, an empty string for absent), then the end, details as JSON, a count and the seam arguments', () => {
    const [queued] = callLifecycle({ callId: 'CA-args', branchId: 'north' });
    const transition = transitionOf(
      { ...queued!, data: { durationMs: 5, cost: { amount: 0.1, currency: 'USD' } } },
      7,
    );
    const args = encodeApplyTransitionArgs('p:{tenant-a}:', transition, ['seam-1']);
    expect(args.slice(0, 13)).toEqual([
      'p:{tenant-a}:',
      'tenant-a',
      'CA-args',
      queued!.id,
      'status',
      'queued',
      String(transition.occurredAt),
      '0',
      String(transition.at),
      '',
      // The step's flags: not published in the script; every key it may touch declared.
      'k',
      new Date(transition.at).toISOString(),
      new Date(transition.occurredAt).toISOString(),
    ]);
    // Settings: publish lease, ended call retention, stale after, answered stale after, then the
    // analytics retention per minute, hour and day; the same text for the same settings.
    expect(args[13]!.split(',').map(Number)).toEqual([
      30_000,
      transition.settings.endedCallRetentionMs,
      transition.settings.staleAfterMs,
      transition.settings.answeredStaleAfterMs,
      86_400_000,
      transition.settings.analyticsRetentionMs.hour,
      transition.settings.analyticsRetentionMs.day,
    ]);
    expect(encodeApplyTransitionSettings({ ...transition.settings, staleAfterMs: 1.5 })).toBe(
      args[13]!.replace(`,${transition.settings.staleAfterMs},`, ',2,'),
    );
    // Identity: provider, branchId, agentId, userId, direction, from, to.
    expect(args.slice(14, 21)).toEqual([
      'twilio',
      'north',
      queued!.agentId ?? '',
      queued!.userId ?? '',
      queued!.direction ?? '',
      queued!.from ?? '',
      queued!.to ?? '',
    ]);
    expect(args.slice(21)).toEqual([
      '',
      '2',
      'durationMs',
      '5',
      'cost',
      '{"amount":0.1,"currency":"USD"}',
      'seam-1',
    ]);
    const published = encodeApplyTransitionArgs('p:{tenant-a}:', transition, [], true);
    expect(published[10]).toBe('pk');
    // A plain server's store declares only the call's and the seam's keys: the step checks none.
    expect(encodeApplyTransitionArgs('p:{tenant-a}:', transition, [], true, false)[10]).toBe('p');
  });
});

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-lua');

/** Runs `body` after the given fragments, with ARGV, and JSON-decodes what it returns. */
async function runLua(
  fragments: Parameters<typeof composeLuaScript>[0],
  body: string,
  args: string[] = [],
): Promise<unknown> {
  const script = composeLuaScript([...fragments, defineLuaFragment('test-body', body)]);
  return JSON.parse((await redis!.eval(script, 0, ...args)) as string);
}

describe.skipIf(!redis)(
  'the Lua fragments, run in Redis, against the TypeScript they mirror',
  () => {
    afterAll(async () => {
      if (!redis) return;
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });

    it('hold the same constants as the TypeScript', async () => {
      const constants = await runLua(
        [
          redisCallHashLua,
          redisCallSnapshotLua,
          callStatusRankLua,
          callPositionLua,
          analyticsBucketsLua,
          applyCallTransitionLua,
        ],
        `return cjson.encode({
        snapshotFields = snapshotFields, eventMarkDone = eventMarkDone,
        eventMarkIgnored = eventMarkIgnored, terminalStatusRank = terminalStatusRank,
        noStatusRank = noStatusRank, callStatusRanks = callStatusRanks,
        analyticsGranularities = analyticsGranularities, callIdentityFills = callIdentityFills,
        callStateFields = callStateFields, callField = callField,
        fields = { detailField('cost'), positionField('cost'), eventMarkField('x:1') } })`,
      );
      expect(constants).toEqual({
        snapshotFields: redisCallSnapshotFields,
        // The apply step reads the snapshot's fields and the event's mark (its name set per call).
        callStateFields: [...redisCallSnapshotFields, ''],
        callField: Object.fromEntries(
          redisCallSnapshotFields.map((name, index) => [name, index + 1]),
        ),
        eventMarkDone: redisEventMarks.done,
        eventMarkIgnored: redisEventMarks.ignored,
        terminalStatusRank,
        noStatusRank,
        callStatusRanks,
        analyticsGranularities: analyticsGranularities.map((name) => ({
          name,
          sizeMs: analyticsBucketMs[name],
          tracksAgentTime: analyticsTracksAgentTime[name],
        })),
        callIdentityFills,
        fields: ['d:cost', 'p:cost', 'e:x:1'],
      });
    });

    it('rank every status and tell active ones as the TypeScript does', async () => {
      const statuses = [...callStatuses, 'bogus'];
      const lua = (await runLua(
        [callStatusRankLua],
        `local ranks, active = {}, {}
      for index, status in ipairs(cjson.decode(ARGV[1])) do
        ranks[index] = statusRank(status)
        active[index] = isActiveStatus(status)
      end
      return cjson.encode({ ranks = ranks, active = active, none = statusRank(nil) })`,
        [JSON.stringify(statuses)],
      )) as { ranks: number[]; active: boolean[]; none: number };
      expect(lua.ranks).toEqual(
        statuses.map((status) => statusRank(status as never) ?? noStatusRank),
      );
      expect(lua.active).toEqual(statuses.map((status) => isActiveStatus(status as never)));
      expect(lua.none).toBe(statusRank(undefined));
    });

    it('order timeline positions as compareCallPositions does, through their stored text', async () => {
      const position = fc.record(
        {
          sequence: fc.integer({ min: 0, max: 3 }),
          at: fc.integer({ min: -5, max: 5 }).map((offset) => 1_764_000_000_000 + offset),
          eventId: fc.string({
            // Beyond ASCII too: UTF-16 code units and UTF-8 bytes order U+FF01 and U+1F600 apart.
            unit: fc.constantFrom('a', 'b', 'B', ':', '-', '~', '0', 'é', '\uFF01', '\u{1F600}'),
            minLength: 1,
            maxLength: 5,
          }),
        },
        { requiredKeys: ['at', 'eventId'] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(position, position), { minLength: 1, maxLength: 50 }),
          async (pairs) => {
            const text = (p: CallPosition) => `${p.sequence ?? ''}:${p.at}:${p.eventId}`;
            const lua = await runLua(
              [callPositionLua],
              `local results = {}
          for index, pair in ipairs(cjson.decode(ARGV[1])) do
            results[index] = compareCallPositions(decodeCallPosition(pair[1]), decodeCallPosition(pair[2]))
          end
          return cjson.encode(results)`,
              [JSON.stringify(pairs.map(([a, b]) => [text(a), text(b)]))],
            );
            expect(lua).toEqual(pairs.map(([a, b]) => Math.sign(compareCallPositions(a, b))));
          },
        ),
        {
          numRuns: 25,
          examples: [
            [
              [
                [
                  { at: 1_764_000_000_000, eventId: '\uFF01' },
                  { at: 1_764_000_000_000, eventId: '\u{1F600}' },
                ],
              ],
            ],
          ],
        },
      );
    });

    it('put a time in the same analytics bucket as the TypeScript', async () => {
      const ats = [0, 1, 59_999, 60_000, -1, -60_001, 1_764_000_123_456, 86_399_999];
      const lua = await runLua(
        [analyticsBucketsLua],
        `local starts = {}
      for index, at in ipairs(cjson.decode(ARGV[1])) do
        local row = {}
        for _, granularity in ipairs(analyticsGranularities) do
          table.insert(row, analyticsBucketStart(granularity.sizeMs, at))
        end
        starts[index] = row
      end
      return cjson.encode(starts)`,
        [JSON.stringify(ats)],
      );
      expect(lua).toEqual(
        ats.map((at) => analyticsGranularities.map((name) => analyticsBucketStart(name, at))),
      );
    });

    it('run a fragment in the seam after the transition, with its own keys and arguments', async () => {
      const seam = defineLuaFragment(
        'after-call-transition',
        `
local function afterCallTransition(base, callKey, transition, applied, snapshot, argv, keys)
  redis.call('RPUSH', base .. 'seam', cjson.encode({
    outcome = applied.outcome, eventId = transition.eventId, version = snapshot[16], argv = argv,
    keys = keys,
  }))
end`,
      );
      const script = composeApplyTransitionScript(seam);
      const base = `${prefix}:{tenant-a}:`;
      const [queued] = callLifecycle({ callId: 'CA-seam' });
      const run = async (atMs: number) =>
        decodeApplyTransitionReply(
          await redis!.eval(
            script,
            2,
            `${base}call:CA-seam`,
            `${base}bus-key`,
            ...encodeApplyTransitionArgs(base, transitionOf(queued!, atMs), ['head', 'more']),
          ),
        );
      expect(await run(0)).toMatchObject({ outcome: 'changed', activeCount: 1, activated: true });
      expect(await run(1)).toMatchObject({ outcome: 'duplicate', activated: false });
      const seen = (await redis!.lrange(`${base}seam`, 0, -1)).map((entry) => JSON.parse(entry));
      const keys = [`${base}call:CA-seam`, `${base}bus-key`];
      expect(seen).toEqual([
        { outcome: 'changed', eventId: queued!.id, version: '1', argv: ['head', 'more'], keys },
        { outcome: 'duplicate', eventId: queued!.id, version: '1', argv: ['head', 'more'], keys },
      ]);
    });

    it('load the other scripts of the store', async () => {
      for (const script of [
        markPublishedScript,
        markPublishFailedScript,
        claimUnpublishedEndsScript,
      ]) {
        expect(await redis!.script('LOAD', script.source)).toBe(script.sha);
      }
      expect(await redis!.script('LOAD', composeLuaScript([callIndexesLua]))).toMatch(
        /^[0-9a-f]{40}$/,
      );
    });
  },
);
