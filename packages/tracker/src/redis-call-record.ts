import { redisCallSnapshotFields } from './redis-call-hash';

/**
 * Reads a call's record (`redis-call-hash.ts`), as the apply step packs it with Redis's
 * `cmsgpack`: a MessagePack array of {@link redisCallSnapshotFields}' values, each a string or
 * `false` when absent. Answers them in that order, `null` where absent, as an `HMGET` of separate
 * fields would. Only this shape is read (the record is written by the store's own scripts);
 * anything else is an error.
 */
export function decodeRedisCallRecord(record: Buffer): (string | null)[] {
  let offset = 0;
  const byte = (): number => {
    if (offset >= record.length) throw new Error('The call record ends early.');
    return record[offset++]!;
  };
  const length = (bytes: number): number => {
    let value = 0;
    for (let index = 0; index < bytes; index += 1) value = value * 256 + byte();
    return value;
  };
  const head = byte();
  let count: number;
  if (head >= 0x90 && head <= 0x9f) count = head & 0x0f;
  else if (head === 0xdc) count = length(2);
  else if (head === 0xdd) count = length(4);
  else throw new Error(`The call record is not an array (0x${head.toString(16)}).`);
  if (count !== redisCallSnapshotFields.length) {
    throw new Error(
      `The call record holds ${count} fields, not ${redisCallSnapshotFields.length}.`,
    );
  }
  const fields: (string | null)[] = [];
  for (let index = 0; index < count; index += 1) {
    const type = byte();
    let size: number;
    if (type === 0xc2 || type === 0xc0) {
      fields.push(null);
      continue;
    }
    if (type >= 0xa0 && type <= 0xbf) size = type & 0x1f;
    else if (type === 0xd9 || type === 0xc4) size = length(1);
    else if (type === 0xda || type === 0xc5) size = length(2);
    else if (type === 0xdb || type === 0xc6) size = length(4);
    else throw new Error(`The call record holds a value of type 0x${type.toString(16)}.`);
    if (offset + size > record.length) throw new Error('The call record ends early.');
    fields.push(record.toString('utf8', offset, offset + size));
    offset += size;
  }
  return fields;
}
