// Deterministic randomness for generated rows: a hash of (seed, object code, row index) seeds a small PRNG, so any
// row can be generated on its own, in any order, and always comes out the same.

export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of (seed, object code, row index[, salt]): the seed of one row's Rng, or a stable pick for that row. */
export function hashIndex(seed: number, code: number, index: number, salt = 0): number {
  let h = mix32((seed ^ 0x9e3779b9) >>> 0);
  h = mix32(h ^ Math.imul(code + 1, 0x27d4eb2f) ^ salt);
  h = mix32(h ^ (index >>> 0));
  h = mix32(h ^ Math.floor(index / 0x1_0000_0000));
  return h;
}

/** mulberry32: tiny, fast and good enough for synthetic data. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('Rng.pick on an empty list');
    return item;
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
}
