/**
 * Seeded pseudo-random numbers. Everything random in sparsewire takes an Rng that is passed in,
 * never Math.random, so the same seed gives the same bits (determinism standard).
 *
 * Generator: xoshiro128** (Blackman & Vigna), 32-bit state words so it runs identically in every
 * JavaScript engine; seeded through splitmix32 so that small seeds (0, 1, 2) give unrelated streams.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined = undefined;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  nextInt(n: number): number {
    if (!(n > 0) || n > 0x100000000 || !Number.isInteger(n)) throw new RangeError(`Rng.nextInt: bad bound ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Shuffles `a` in place (Fisher–Yates from the last place down, j = nextInt(i + 1)) and returns it. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** Standard normal sample (Box–Muller, polar form avoided for determinism across engines). */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    let u = this.nextFloat();
    while (u <= 0) u = this.nextFloat();
    const v = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** A new generator whose stream is derived from this one (for independent sub-streams). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** The generator's whole state (for checkpoints): four state words and the cached normal, or NaN. */
  getState(): RngState {
    return { words: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal ?? null };
  }

  /** Continue exactly where the generator that gave `state` was (a resumed run draws the same numbers). */
  setState(state: RngState): void {
    const w = state.words;
    if (w.length !== 4 || !w.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff) || (w[0]! | w[1]! | w[2]! | w[3]!) === 0) {
      throw new RangeError(`Rng.setState: state words must be four 32-bit unsigned integers, not all 0; got ${JSON.stringify(w)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = [w[0]!, w[1]!, w[2]!, w[3]!];
    this.spareNormal = state.spareNormal ?? undefined;
  }
}

/** An Rng's state, JSON-safe. */
export interface RngState {
  words: number[];
  spareNormal: number | null;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
