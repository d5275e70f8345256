import { connectTestRedis } from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { redisCallSnapshotFields } from './redis-call-hash';
import { decodeRedisCallRecord } from './redis-call-record';

const redis = await connectTestRedis();

/** Packs values as the apply step packs a record: '' stands for an absent field (false). */
const packScript = `
local fields = {}
for index, value in ipairs(ARGV) do
  if value == '' then fields[index] = false else fields[index] = value end
end
return cmsgpack.pack(fields)
`;

const fieldCount = redisCallSnapshotFields.length;

/** A script's reply as bytes (a record is binary: not UTF-8 text). */
const evalBytes = async (script: string, ...args: string[]): Promise<Buffer> =>
  (await redis!.callBuffer('EVAL', script, '0', ...args)) as Buffer;

describe.skipIf(!redis)("the call record, as Redis's cmsgpack packs it", () => {
  afterAll(() => redis?.disconnect());

  it('reads back every value, of every length MessagePack sizes differently, absent ones as null', async () => {
    const value = fc.oneof(
      fc.constant(''),
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
      fc.constantFrom('x'.repeat(31), 'x'.repeat(32), 'é'.repeat(128), 'y'.repeat(70_000)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: fieldCount, maxLength: fieldCount }),
        async (values) => {
          const record = await evalBytes(packScript, ...values);
          expect(decodeRedisCallRecord(record)).toEqual(
            values.map((text) => (text === '' ? null : text)),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses what is not a record: another shape, another length, a cut-off value', async () => {
    const values = Array.from({ length: fieldCount }, (_, index) => `v${index}`);
    const record = await evalBytes(packScript, ...values);
    expect(() => decodeRedisCallRecord(record.subarray(0, record.length - 1))).toThrow(
      /ends early/,
    );
    const shorter = await evalBytes(packScript, ...values.slice(1));
    expect(() => decodeRedisCallRecord(shorter)).toThrow(`holds ${fieldCount - 1} fields`);
    const number = await evalBytes(
      `return cmsgpack.pack({ ${Array.from({ length: fieldCount }, () => '1').join(', ')} })`,
    );
    expect(() => decodeRedisCallRecord(number)).toThrow(/type 0x1/);
    expect(() => decodeRedisCallRecord(Buffer.from('{"status":"queued"}'))).toThrow(/not an array/);
  });
});
