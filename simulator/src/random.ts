// Deterministic pseudo-randomness: the seed data must be identical for a given seed, and lazily
// generated fields (titles, bodies, labels) must be recomputable from an id without being stored.

/** A 32-bit hash of integers (xorshift-multiply mixing); the same inputs always give the same output. */
export function hash32 (...values: number[]): number {
  let h = 0x811c9dc5
  for (const v of values) {
    h ^= v | 0
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

/** A float in [0, 1) from a hash of the inputs. */
export function unit (...values: number[]): number {
  return hash32(...values) / 0x100000000
}

/** A seeded sequential generator (mulberry32), for building the data set in one pass. */
export class Rng {
  private state: number
  constructor (seed: number) { this.state = hash32(seed, 0x5eed) }

  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000
  }

  int (maxExclusive: number): number { return Math.floor(this.next() * maxExclusive) }
  chance (p: number): boolean { return this.next() < p }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] }

  /** `count` distinct integers from [0, maxExclusive). */
  sample (maxExclusive: number, count: number): number[] {
    const picked = new Set<number>()
    const wanted = Math.min(count, maxExclusive)
    while (picked.size < wanted) picked.add(this.int(maxExclusive))
    return [...picked].sort((a, b) => a - b)
  }
}

/** A string seed (e.g. from an env variable) to a 32-bit integer. */
export function seedFromString (seed: string | number): number {
  if (typeof seed === 'number') return seed >>> 0
  let h = 0
  for (let i = 0; i < seed.length; i++) h = hash32(h, seed.charCodeAt(i))
  return h
}
