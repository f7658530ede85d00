/**
 * The approximate search's plain hashing and bucket scans (declared in engine/search-kernel-types.ts
 * `LshKernel`; the search itself is rewire/approximate-search.ts, §4.3): SimHash keys by the
 * rotations H·D₃·H·D₂·H·D₁ in float64, tables by counting sort, and per query the multi-probe scan
 * with deduplication, admissibility and the per-range budget. The executable definition that the
 * WebAssembly kernel (assembly/lsh.ts) repeats operation for operation.
 *
 * Legend: k neurons, S samples, P rotation length, L tables, b_g key bits of range g, R norm ranges,
 * ns indexed sources, H heavy sources.
 */
import type { LshIndex, LshKernel, SearchActivity } from "../search-kernel-types.js";

/** Projections of (values[offset .. offset+S), extra) onto all hyperplanes of `index`, into out (rotations·P); work: P scratch. */
export function project(index: LshIndex, S: number, values: Float32Array, offset: number, extra: number, work: Float64Array, out: Float64Array): void {
  const { rotationLength: P, rotations, diagonals } = index;
  for (let r = 0; r < rotations; r++) {
    for (let m = 0; m < S; m++) work[m] = values[offset + m]!;
    for (let m = S; m < P; m++) work[m] = 0;
    if (S < P) work[S] = extra;
    const dBase = r * 3 * P;
    for (let round = 0; round < 3; round++) {
      const dOff = dBase + round * P;
      for (let m = 0; m < P; m++) work[m]! *= diagonals[dOff + m]!;
      hadamard(work, P);
    }
    out.set(work, r * P);
  }
}

/** In-place unnormalised Walsh–Hadamard transform of work[0..P) (P a power of two). */
function hadamard(work: Float64Array, P: number): void {
  for (let h = 1; h < P; h <<= 1) {
    for (let i = 0; i < P; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const x = work[j]!;
        const y = work[j + h]!;
        work[j] = x + y;
        work[j + h] = x - y;
      }
    }
  }
}

/** Key of b bits from proj[pb .. pb + b): bit m set iff the projection is > 0. */
function keyOf(proj: Float64Array, pb: number, b: number): number {
  let key = 0;
  for (let m = 0; m < b; m++) if (proj[pb + m]! > 0) key |= 1 << m;
  return key;
}

/** The hash tables: for every (range g, table t), the range's sources bucketed by key (CSR). */
interface Tables {
  /** Buckets of (g, t) start at keyBase[g·L + t]: 2^b_g + 1 bucket starts each. */
  keyBase: Int32Array;
  /** Bucket starts, relative to the (g, t) block of bucketItem. */
  bucketStart: Int32Array;
  /** Sources in bucket order; the (g, t) block starts at L·groupStart[g] + t·(size of range g). */
  bucketItem: Int32Array;
  /** Each source's key per table, laid out as bucketItem. */
  sourceKey: Int32Array;
}

/**
 * Index: for every (range g, table t), the range's sources bucketed by key (counting sort, CSR).
 * Table t of every range uses hyperplanes [t·bMax, t·bMax + b_g), so a query is projected once.
 */
function buildTables(a: SearchActivity, index: LshIndex): Tables {
  const { samples: S, outputs } = a;
  const { sourceIds, groupStart, groupBits, bMax, tables: L, extra } = index;
  const R = groupBits.length;
  const ns = sourceIds.length;
  const work = new Float64Array(index.rotationLength);
  const proj = new Float64Array(index.rotations * index.rotationLength);
  const T = R * L;
  const keyBase = new Int32Array(T + 1);
  for (let g = 0; g < R; g++) for (let t = 0; t < L; t++) keyBase[g * L + t + 1] = keyBase[g * L + t]! + (1 << groupBits[g]!) + 1;
  const bucketStart = new Int32Array(keyBase[T]!);
  const bucketItem = new Int32Array(L * ns);
  const sourceKey = new Int32Array(L * ns);
  for (let g = 0; g < R; g++) {
    const from = groupStart[g]!;
    const to = groupStart[g + 1]!;
    const size = to - from;
    const bg = groupBits[g]!;
    for (let p = from; p < to; p++) {
      project(index, S, outputs, sourceIds[p]! * S, extra ? extra[p]! : 0, work, proj);
      for (let t = 0; t < L; t++) sourceKey[L * from + t * size + (p - from)] = keyOf(proj, t * bMax, bg);
    }
    const keys = 1 << bg;
    for (let t = 0; t < L; t++) {
      const kb = keyBase[g * L + t]!;
      const ib = L * from + t * size;
      for (let p = 0; p < size; p++) bucketStart[kb + sourceKey[ib + p]! + 1]!++;
      for (let key = 0; key < keys; key++) bucketStart[kb + key + 1]! += bucketStart[kb + key]!;
      // Fill by advancing the start of each bucket, then shift the starts back.
      for (let p = 0; p < size; p++) bucketItem[ib + bucketStart[kb + sourceKey[ib + p]!]!++] = sourceIds[from + p]!;
      for (let key = keys; key > 0; key--) bucketStart[kb + key] = bucketStart[kb + key - 1]!;
      bucketStart[kb] = 0;
    }
  }
  return { keyBase, bucketStart, bucketItem, sourceKey };
}

/** The `pg` least certain bits of a table (smallest |projection| among proj[pb .. pb + bg)), by selection, into flips. */
function leastCertainBits(proj: Float64Array, pb: number, bg: number, pg: number, flips: Int32Array): void {
  for (let f = 0; f < pg; f++) {
    let best = -1;
    let bestAbs = Infinity;
    for (let m = 0; m < bg; m++) {
      const v = Math.abs(proj[pb + m]!);
      if (v < bestAbs) {
        let used = false;
        for (let h = 0; h < f; h++) if (flips[h] === m) used = true;
        if (!used) { best = m; bestAbs = v; }
      }
    }
    flips[f] = best;
  }
}

/**
 * Keep the `budget` entries of found[0..count) with the most hits (ties: earlier first), in their
 * order; returns the new count. Hits are small integers, so a histogram finds the cut in O(count).
 */
function keepMostHits(found: Int32Array, count: number, hits: Int32Array, budget: number, histogram: Int32Array): number {
  histogram.fill(0);
  const top = histogram.length - 1;
  for (let f = 0; f < count; f++) histogram[Math.min(hits[found[f]!]!, top)]!++;
  let cut = top;
  let above = 0; // entries with more hits than `cut`
  while (cut > 0 && above + histogram[cut]! < budget) above += histogram[cut--]!;
  let tiesLeft = budget - above;
  let kept = 0;
  for (let f = 0; f < count; f++) {
    const i = found[f]!;
    const h = Math.min(hits[i]!, top);
    if (h > cut || (h === cut && tiesLeft-- > 0)) found[kept++] = i;
  }
  return kept;
}

/** The plain hashing of `a`'s sources by `index`; query candidates go to `candidates` (length ≥ k). */
export function referenceLsh(a: SearchActivity, index: LshIndex, candidates: Int32Array): LshKernel {
  const { neurons: k, samples: S, errors } = a;
  const { tables: L, budget, probes, heavy: H, normOrder, normRank, groupStart, groupBits, bMax } = index;
  const R = groupBits.length;
  const { keyBase, bucketStart, bucketItem, sourceKey } = buildTables(a, index);
  const work = new Float64Array(index.rotationLength);
  const proj = new Float64Array(index.rotations * index.rotationLength);
  /** stamp[i] = the last query that met source i; hits[i] = buckets it shared with that query. */
  const stamp = new Int32Array(k).fill(-1);
  const hits = new Int32Array(k);
  const flips = new Int32Array(Math.max(1, probes));
  const histogram = new Int32Array(L * 2 * (1 + probes) + 2);
  let words: Int32Array = new Int32Array(0);
  let visitedTotal = 0;

  /** Query q's candidates; `admits` or else bit `shift` of words[wordBase + i] decides admissibility. */
  const run = (j: number, q: number, stop: number, admits: ((source: number) => boolean) | undefined, wordBase: number, shift: number): number => {
    project(index, S, errors, j * S, 0, work, proj);
    let nFound = 0;
    // The heaviest sources are scored against every target, outside the budget.
    for (let h = 0; h < H; h++) {
      const i = normOrder[h]!;
      stamp[i] = q;
      hits[i] = 0;
      if (h >= stop && (admits ? admits(i) : ((words[wordBase + i]! >>> shift) & 1) !== 0)) candidates[nFound++] = i;
    }
    let visited = 0;
    for (let g = 0; g < R; g++) {
      const bg = groupBits[g]!;
      const full = (1 << bg) - 1;
      const pg = Math.min(probes, bg);
      const groupFirst = nFound;
      const ib0 = L * groupStart[g]!;
      const size = groupStart[g + 1]! - groupStart[g]!;
      for (let t = 0; t < L; t++) {
        const pb = t * bMax;
        const key = keyOf(proj, pb, bg);
        leastCertainBits(proj, pb, bg, pg, flips);
        const kb = keyBase[g * L + t]!;
        const ib = ib0 + t * size;
        for (let sign = 0; sign < 2; sign++) {
          // −δ hashes to the complement key (Prop. 4.7: query u and −u for |corr|).
          const base = sign === 0 ? key : ~key & full;
          for (let f = -1; f < pg; f++) {
            const probe = f < 0 ? base : base ^ (1 << flips[f]!);
            const from = ib + bucketStart[kb + probe]!;
            const to = ib + bucketStart[kb + probe + 1]!;
            visited += to - from;
            for (let z = from; z < to; z++) {
              const i = bucketItem[z]!;
              if (stamp[i] === q) {
                hits[i]!++;
                continue;
              }
              stamp[i] = q;
              hits[i] = 1;
              if (normRank[i]! < stop || !(admits ? admits(i) : ((words[wordBase + i]! >>> shift) & 1) !== 0)) continue;
              candidates[nFound++] = i;
            }
          }
        }
      }
      // Per range, only the `budget` candidates that collided most often are scored.
      if (nFound - groupFirst > budget) nFound = groupFirst + keepMostHits(candidates.subarray(groupFirst, nFound), nFound - groupFirst, hits, budget, histogram);
    }
    visitedTotal += visited;
    return nFound;
  };

  return {
    name: "js",
    get visited() {
      return visitedTotal;
    },
    loadWords(w: Int32Array): void {
      words = w;
    },
    collectByWords: (j, q, stop, wordBase, shift) => run(j, q, stop, undefined, wordBase, shift),
    collect: (j, q, stop, admits) => run(j, q, stop, admits, 0, 0),
    sourceKeys: () => sourceKey,
    queryKeys(j: number): Int32Array {
      project(index, S, errors, j * S, 0, work, proj);
      const out = new Int32Array(R * L * (1 + probes));
      let at = 0;
      for (let g = 0; g < R; g++) {
        const bg = groupBits[g]!;
        const pg = Math.min(probes, bg);
        for (let t = 0; t < L; t++) {
          out[at++] = keyOf(proj, t * bMax, bg);
          leastCertainBits(proj, t * bMax, bg, pg, flips);
          for (let f = 0; f < probes; f++) out[at++] = f < pg ? flips[f]! : -1;
        }
      }
      return out;
    },
  };
}
