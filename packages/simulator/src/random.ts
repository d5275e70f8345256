/**
 * A small seeded pseudo-random generator (mulberry32) with the draws the call scripts need.
 * Not for secrets: it only makes simulated traffic reproducible under a seed.
 *
 * @internal
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An unsigned 32-bit integer, e.g. the seed of a child generator. */
  uint32(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A float in [min, max). */
  between(min: number, max: number): number;
  /** True with probability `probability`. */
  chance(probability: number): boolean;
  /** One element of a non-empty array. */
  pick<Item>(items: readonly Item[]): Item;
  /** A key of `weights`, with probability proportional to its weight; undefined when all are 0. */
  weighted<Key extends string>(weights: Readonly<Partial<Record<Key, number>>>): Key | undefined;
  /** `length` lower-case hexadecimal digits. */
  hex(length: number): string;
  /** `length` decimal digits (a leading zero is possible). */
  digits(length: number): string;
  /** `length` letters and digits. */
  alphanumeric(length: number): string;
  /** A log-normally distributed value: `median` half the time below, `spread` the sigma of its log. */
  logNormal(median: number, spread: number): number;
  /** An exponentially distributed value with the given mean (Poisson arrivals). */
  exponential(mean: number): number;
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Creates a {@link Random} from a 32-bit seed; the same seed gives the same draws. @internal */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return (value ^ (value >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / 4294967296;
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const normal = (): number => {
    // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    return radius * Math.cos(2 * Math.PI * next());
  };
  return {
    next,
    uint32,
    int,
    between: (min, max) => min + next() * (max - min),
    chance: (probability) => probability > 0 && next() < probability,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    weighted<Key extends string>(weights: Readonly<Partial<Record<Key, number>>>) {
      const entries = (Object.entries(weights) as [Key, number | undefined][]).filter(
        (entry): entry is [Key, number] => typeof entry[1] === 'number' && entry[1] > 0,
      );
      const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
      if (total <= 0) return undefined;
      let remaining = next() * total;
      for (const [key, weight] of entries) {
        remaining -= weight;
        if (remaining < 0) return key;
      }
      return entries.at(-1)![0];
    },
    hex: (length) => {
      let text = '';
      for (let index = 0; index < length; index += 1) text += int(0, 15).toString(16);
      return text;
    },
    digits: (length) => {
      let text = '';
      for (let index = 0; index < length; index += 1) text += String(int(0, 9));
      return text;
    },
    alphanumeric: (length) => {
      let text = '';
      for (let index = 0; index < length; index += 1) text += alphabet[int(0, alphabet.length - 1)];
      return text;
    },
    logNormal: (median, spread) => median * Math.exp(spread * normal()),
    exponential: (mean) => -Math.log(1 - next()) * mean,
  };
}
