const table = new Uint16Array(256);
for (let byte = 0; byte < 256; byte += 1) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  table[byte] = crc & 0xffff;
}
const encoder = new TextEncoder();

/**
 * The Redis Cluster hash slot of a key or sharded channel: CRC16 (XMODEM) of its hash tag (the
 * part between the first `{` and the next `}`, when not empty) or of the whole name, modulo
 * 16384, as the Redis Cluster specification defines it.
 */
export function redisClusterSlot(name: string): number {
  let bytes = encoder.encode(name);
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes)
    crc = ((crc << 8) & 0xffff) ^ (table[((crc >> 8) ^ byte) & 0xff] as number);
  return crc & 0x3fff;
}
