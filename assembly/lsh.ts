/**
 * The approximate candidate search's hashing (§4.3, src/rewire/approximate-search.ts) in WebAssembly:
 * SimHash keys from the rotations H·D₃·H·D₂·H·D₁ for every indexed source and every query, the
 * tables (counting sort into buckets) and the query's bucket scan (multi-probe, deduplication,
 * admissibility, the per-range budget). Compiled into the search module (search.ts re-exports it).
 *
 * What it is: a twin of the plain TypeScript kernel (src/engine/reference/lsh.ts), not a variant. The
 * rotations repeat its float64 arithmetic operation for operation (multiplication by ±1 and the
 * butterflies' x + y, x − y are exact IEEE operations, lane-wise in f64x2 as in scalar code), so the
 * signs, hence the keys, the probes, the candidates and their order, are the same bit for bit.
 *
 * What it is not: it never scores a pair (search.ts approxDots and the exact rescoring do) and it
 * decides nothing the TypeScript kernel does not; an admissibility that is a per-pair callback
 * is applied by the caller ("raw" mode, below).
 *
 * Legend: S samples, P rotation length (a power of two), L tables, b_g key bits of norm range g, bMax
 * the largest, R norm ranges, ns indexed sources, k neurons, H heavy sources.
 */

// ---- context block (byte offsets; mirrored by src/engine/wasm/search-kernels.ts) ----
export const H_S: i32 = 0; // samples per row
export const H_P: i32 = 4;
export const H_ROTATIONS: i32 = 8;
export const H_DIAG: i32 = 12; // f64 [rotations·3·P] the ±1 diagonals
export const H_PROJ: i32 = 16; // f64 [rotations·P] projections of the current vector
export const H_L: i32 = 20;
export const H_BMAX: i32 = 24;
export const H_R: i32 = 28;
export const H_GROUP_START: i32 = 32; // i32 [R + 1]
export const H_GROUP_BITS: i32 = 36; // i32 [R]
export const H_IDS: i32 = 40; // i32 [ns] indexed sources, range by range
export const H_EXTRA: i32 = 44; // f64 [ns] appended coordinate per indexed source, or 0 (none)
export const H_X: i32 = 48; // f32 source rows, H_X_STRIDE floats apart
export const H_X_STRIDE: i32 = 52;
export const H_KEY_BASE: i32 = 56; // i32 [R·L + 1]
export const H_BUCKET_START: i32 = 60; // i32 [keyBase[R·L]]
export const H_BUCKET_ITEM: i32 = 64; // i32 [L·ns]
export const H_SOURCE_KEY: i32 = 68; // i32 [L·ns]
export const H_PROBES: i32 = 72;
export const H_BUDGET: i32 = 76; // candidates kept per range (≥ 1)
export const H_HEAVY: i32 = 80;
export const H_NORM_ORDER: i32 = 84; // i32 [ns]
export const H_NORM_RANK: i32 = 88; // i32 [k]
export const H_MET: i32 = 92; // i32 [2k]: (last query that met source i, buckets it shared with it)
export const H_FLIPS: i32 = 96; // i32 [max(1, probes)]
export const H_HISTOGRAM: i32 = 100; // i32 [H_HISTOGRAM_LENGTH]
export const H_HISTOGRAM_LENGTH: i32 = 104;
export const H_WORDS: i32 = 108; // i32 admissibility words of the current super block
export const H_QUERY: i32 = 112; // f32 [S] the query's errors
export const H_FOUND: i32 = 116; // i32 [k] out: the query's candidates
export const H_SEGMENTS: i32 = 120; // i32 [R + 2] out, raw mode: where the heavy part and each range start
export const H_VISITED: i32 = 124; // out: bucket entries the last `collect` looked at
export const H_SIZE: i32 = 128;

@inline function i32At(ctx: usize, field: i32): i32 {
  return load<i32>(ctx + <usize>field);
}
@inline function ptrAt(ctx: usize, field: i32): usize {
  return load<usize>(ctx + <usize>field);
}
@inline function i32Of(base: usize, index: i32): i32 {
  return load<i32>(base + (<usize>index << 2));
}

/** In-place unnormalised Walsh–Hadamard transform of w[0..P) (f64), the same butterflies as the TypeScript loop. */
function hadamard(w: usize, P: i32): void {
  if (P < 4) {
    for (let h = 1; h < P; h <<= 1) {
      for (let i = 0; i < P; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const x = load<f64>(w + (<usize>j << 3));
          const y = load<f64>(w + (<usize>(j + h) << 3));
          store<f64>(w + (<usize>j << 3), x + y);
          store<f64>(w + (<usize>(j + h) << 3), x - y);
        }
      }
    }
    return;
  }
  // h = 1: pairs (j, j + 1) sit in one vector; two vectors at a time, transposed and back.
  const bytes = <usize>P << 3;
  for (let o: usize = 0; o < bytes; o += 32) {
    const u = v128.load(w + o);
    const v = v128.load(w + o, 16);
    const a = v128.shuffle<f64>(u, v, 0, 2);
    const b = v128.shuffle<f64>(u, v, 1, 3);
    const s = f64x2.add(a, b);
    const d = f64x2.sub(a, b);
    v128.store(w + o, v128.shuffle<f64>(s, d, 0, 2));
    v128.store(w + o, v128.shuffle<f64>(s, d, 1, 3), 16);
  }
  for (let h = 2; h < P; h <<= 1) {
    const hb = <usize>h << 3;
    for (let i: usize = 0; i < bytes; i += hb << 1) {
      for (let o = i; o < i + hb; o += 16) {
        const x = v128.load(w + o);
        const y = v128.load(w + o + hb);
        v128.store(w + o, f64x2.add(x, y));
        v128.store(w + o + hb, f64x2.sub(x, y));
      }
    }
  }
}

/** Projections of (row[0..S) as f64, extra) onto all hyperplanes into H_PROJ (rotations·P). */
function project(ctx: usize, row: usize, extra: f64): void {
  const S = i32At(ctx, H_S);
  const P = i32At(ctx, H_P);
  const rotations = i32At(ctx, H_ROTATIONS);
  const diag = ptrAt(ctx, H_DIAG);
  const proj = ptrAt(ctx, H_PROJ);
  const bytes = <usize>P << 3;
  for (let r = 0; r < rotations; r++) {
    const w = proj + <usize>r * bytes;
    for (let m = 0; m < S; m++) store<f64>(w + (<usize>m << 3), <f64>load<f32>(row + (<usize>m << 2)));
    for (let m = S; m < P; m++) store<f64>(w + (<usize>m << 3), 0);
    if (S < P) store<f64>(w + (<usize>S << 3), extra);
    for (let round = 0; round < 3; round++) {
      const d = diag + <usize>(r * 3 + round) * bytes;
      if (P >= 2) {
        for (let o: usize = 0; o < bytes; o += 16) v128.store(w + o, f64x2.mul(v128.load(w + o), v128.load(d + o)));
      } else store<f64>(w, load<f64>(w) * load<f64>(d));
      hadamard(w, P);
    }
  }
}

/** Key of table t for b bits: bit m set iff projection t·bMax + m is > 0. */
@inline function keyOf(proj: usize, pb: i32, b: i32): i32 {
  let key = 0;
  for (let m = 0; m < b; m++) if (load<f64>(proj + (<usize>(pb + m) << 3)) > 0) key |= 1 << m;
  return key;
}

/** The `pg` least certain bits of a table (smallest |projection|, earlier first on ties) into H_FLIPS. */
@inline function leastCertainBits(proj: usize, pb: i32, b: i32, pg: i32, flips: usize): void {
  for (let f = 0; f < pg; f++) {
    let best = -1;
    let bestAbs = Infinity;
    for (let m = 0; m < b; m++) {
      const v = Math.abs(load<f64>(proj + (<usize>(pb + m) << 3)));
      if (v < bestAbs) {
        let used = false;
        for (let h = 0; h < f; h++) if (i32Of(flips, h) == m) used = true;
        if (!used) {
          best = m;
          bestAbs = v;
        }
      }
    }
    store<i32>(flips + (<usize>f << 2), best);
  }
}

/**
 * Hash every indexed source (H_IDS, range by range, with its H_EXTRA coordinate) into H_SOURCE_KEY
 * (the (g, t) block at L·groupStart[g] + t·size_g), then bucket them (H_KEY_BASE, H_BUCKET_START,
 * H_BUCKET_ITEM: counting sort, CSR, as the TypeScript kernel). Zeroes what it accumulates into.
 */
export function buildTables(ctx: usize): void {
  const L = i32At(ctx, H_L);
  const bMax = i32At(ctx, H_BMAX);
  const R = i32At(ctx, H_R);
  const groupStart = ptrAt(ctx, H_GROUP_START);
  const groupBits = ptrAt(ctx, H_GROUP_BITS);
  const ids = ptrAt(ctx, H_IDS);
  const extra = ptrAt(ctx, H_EXTRA);
  const X = ptrAt(ctx, H_X);
  const rowBytes = <usize>i32At(ctx, H_X_STRIDE) << 2;
  const proj = ptrAt(ctx, H_PROJ);
  const keyBase = ptrAt(ctx, H_KEY_BASE);
  const bucketStart = ptrAt(ctx, H_BUCKET_START);
  const bucketItem = ptrAt(ctx, H_BUCKET_ITEM);
  const sourceKey = ptrAt(ctx, H_SOURCE_KEY);
  store<i32>(keyBase, 0);
  for (let g = 0; g < R; g++) {
    for (let t = 0; t < L; t++) {
      const at = g * L + t;
      store<i32>(keyBase + (<usize>(at + 1) << 2), i32Of(keyBase, at) + (1 << i32Of(groupBits, g)) + 1);
    }
  }
  memory.fill(bucketStart, 0, <usize>i32Of(keyBase, R * L) << 2);
  for (let g = 0; g < R; g++) {
    const from = i32Of(groupStart, g);
    const to = i32Of(groupStart, g + 1);
    const size = to - from;
    const bg = i32Of(groupBits, g);
    for (let p = from; p < to; p++) {
      const i = i32Of(ids, p);
      project(ctx, X + <usize>i * rowBytes, extra != 0 ? load<f64>(extra + (<usize>p << 3)) : 0);
      for (let t = 0; t < L; t++) store<i32>(sourceKey + (<usize>(L * from + t * size + (p - from)) << 2), keyOf(proj, t * bMax, bg));
    }
    const keys = 1 << bg;
    for (let t = 0; t < L; t++) {
      const kb = bucketStart + (<usize>i32Of(keyBase, g * L + t) << 2);
      const ib = L * from + t * size;
      for (let p = 0; p < size; p++) {
        const at = kb + (<usize>(i32Of(sourceKey, ib + p) + 1) << 2);
        store<i32>(at, load<i32>(at) + 1);
      }
      for (let key = 0; key < keys; key++) store<i32>(kb + (<usize>(key + 1) << 2), i32Of(kb, key + 1) + i32Of(kb, key));
      // Fill by advancing the start of each bucket, then shift the starts back.
      for (let p = 0; p < size; p++) {
        const at = kb + (<usize>i32Of(sourceKey, ib + p) << 2);
        const slot = load<i32>(at);
        store<i32>(at, slot + 1);
        store<i32>(bucketItem + (<usize>(ib + slot) << 2), i32Of(ids, from + p));
      }
      for (let key = keys; key > 0; key--) store<i32>(kb + (<usize>key << 2), i32Of(kb, key - 1));
      store<i32>(kb, 0);
    }
  }
}

/** Forget which sources met which query (k sources): before the first query of a search. */
export function resetMet(ctx: usize, k: i32): void {
  const met = ptrAt(ctx, H_MET);
  for (let i = 0; i < k; i++) {
    store<i32>(met + (<usize>i << 3), -1);
    store<i32>(met + (<usize>i << 3), 0, 4);
  }
}

/** Keys and least certain bits of the query in H_QUERY: per (range g, table t), key then `probes` flips (−1: none), into out. */
export function queryKeys(ctx: usize, out: usize): void {
  project(ctx, ptrAt(ctx, H_QUERY), 0);
  const L = i32At(ctx, H_L);
  const bMax = i32At(ctx, H_BMAX);
  const R = i32At(ctx, H_R);
  const probes = i32At(ctx, H_PROBES);
  const groupBits = ptrAt(ctx, H_GROUP_BITS);
  const proj = ptrAt(ctx, H_PROJ);
  const flips = ptrAt(ctx, H_FLIPS);
  let at = out;
  for (let g = 0; g < R; g++) {
    const bg = i32Of(groupBits, g);
    const pg = probes < bg ? probes : bg;
    for (let t = 0; t < L; t++) {
      store<i32>(at, keyOf(proj, t * bMax, bg));
      at += 4;
      leastCertainBits(proj, t * bMax, bg, pg, flips);
      for (let f = 0; f < probes; f++) {
        store<i32>(at, f < pg ? i32Of(flips, f) : -1);
        at += 4;
      }
    }
  }
}

/**
 * Keep the `budget` entries of list[0..count) with the most hits (ties: earlier first), in their
 * order; returns the new count (the TypeScript kernel's keepMostHits: a histogram of the hits).
 */
export function keepMostHits(ctx: usize, list: usize, count: i32): i32 {
  const budget = i32At(ctx, H_BUDGET);
  const met = ptrAt(ctx, H_MET);
  const histogram = ptrAt(ctx, H_HISTOGRAM);
  const length = i32At(ctx, H_HISTOGRAM_LENGTH);
  memory.fill(histogram, 0, <usize>length << 2);
  const top = length - 1;
  for (let f = 0; f < count; f++) {
    const h = min(load<i32>(met + (<usize>i32Of(list, f) << 3), 4), top);
    const at = histogram + (<usize>h << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  let cut = top;
  let above = 0; // entries with more hits than `cut`
  while (cut > 0 && above + i32Of(histogram, cut) < budget) above += i32Of(histogram, cut--);
  let tiesLeft = budget - above;
  let kept = 0;
  for (let f = 0; f < count; f++) {
    const i = i32Of(list, f);
    const h = min(load<i32>(met + (<usize>i << 3), 4), top);
    if (h > cut || (h == cut && tiesLeft-- > 0)) store<i32>(list + (<usize>(kept++) << 2), i);
  }
  return kept;
}

/**
 * Candidates of query q (errors in H_QUERY) into H_FOUND; returns their count. The heavy sources
 * first, then per norm range the sources sharing a bucket with +δ or −δ (each table probed at the
 * key and at the keys with one of the least certain bits flipped), first meetings in scan order,
 * cut to the budget by hits. Sources of norm rank < stop are skipped (the bounded scan scored
 * them). Admissibility: bit `shift` of H_WORDS[wordBase + i] (raw = 0), or none (raw ≠ 0: every
 * meeting is kept, no budget, and H_SEGMENTS records where the heavy part and each range start,
 * for the caller to filter and cut with keepMostHits).
 */
export function collect(ctx: usize, q: i32, stop: i32, wordBase: i32, shift: i32, raw: i32): i32 {
  project(ctx, ptrAt(ctx, H_QUERY), 0);
  const L = i32At(ctx, H_L);
  const bMax = i32At(ctx, H_BMAX);
  const R = i32At(ctx, H_R);
  const probes = i32At(ctx, H_PROBES);
  const budget = i32At(ctx, H_BUDGET);
  const H = i32At(ctx, H_HEAVY);
  const groupStart = ptrAt(ctx, H_GROUP_START);
  const groupBits = ptrAt(ctx, H_GROUP_BITS);
  const proj = ptrAt(ctx, H_PROJ);
  const keyBase = ptrAt(ctx, H_KEY_BASE);
  const bucketStart = ptrAt(ctx, H_BUCKET_START);
  const bucketItem = ptrAt(ctx, H_BUCKET_ITEM);
  const normOrder = ptrAt(ctx, H_NORM_ORDER);
  const normRank = ptrAt(ctx, H_NORM_RANK);
  const met = ptrAt(ctx, H_MET);
  const flips = ptrAt(ctx, H_FLIPS);
  const words = ptrAt(ctx, H_WORDS) + (<usize>wordBase << 2);
  const found = ptrAt(ctx, H_FOUND);
  const segments = ptrAt(ctx, H_SEGMENTS);
  const sh = <u32>shift;
  let nFound = 0;
  // The heaviest sources are scored against every target, outside the budget.
  for (let h = 0; h < H; h++) {
    const i = i32Of(normOrder, h);
    store<i32>(met + (<usize>i << 3), q);
    store<i32>(met + (<usize>i << 3), 0, 4);
    if (h >= stop && (raw != 0 || ((load<u32>(words + (<usize>i << 2)) >>> sh) & 1) != 0)) store<i32>(found + (<usize>(nFound++) << 2), i);
  }
  if (raw != 0) {
    store<i32>(segments, 0);
    store<i32>(segments, nFound, 4);
  }
  let visited = 0;
  for (let g = 0; g < R; g++) {
    const bg = i32Of(groupBits, g);
    const full = (1 << bg) - 1;
    const pg = probes < bg ? probes : bg;
    const groupFirst = nFound;
    const ib0 = L * i32Of(groupStart, g);
    const size = i32Of(groupStart, g + 1) - i32Of(groupStart, g);
    for (let t = 0; t < L; t++) {
      const pb = t * bMax;
      const key = keyOf(proj, pb, bg);
      leastCertainBits(proj, pb, bg, pg, flips);
      const kb = bucketStart + (<usize>i32Of(keyBase, g * L + t) << 2);
      const items = bucketItem + (<usize>(ib0 + t * size) << 2);
      for (let sign = 0; sign < 2; sign++) {
        // −δ hashes to the complement key (Prop. 4.7: query u and −u for |corr|).
        const base = sign == 0 ? key : ~key & full;
        for (let f = -1; f < pg; f++) {
          let probe = base;
          if (f >= 0) {
            const m = i32Of(flips, f);
            if (m < 0) continue; // only with non-finite projections; the TypeScript kernel reads no bucket there either
            probe = base ^ (1 << m);
          }
          const from = i32Of(kb, probe);
          const to = i32Of(kb, probe + 1);
          visited += to - from;
          for (let z = from; z < to; z++) {
            const i = i32Of(items, z);
            const at = met + (<usize>i << 3);
            if (load<i32>(at) == q) {
              store<i32>(at, load<i32>(at, 4) + 1, 4);
              continue;
            }
            store<i32>(at, q);
            store<i32>(at, 1, 4);
            if (stop > 0 && i32Of(normRank, i) < stop) continue; // (ranks are ≥ 0: no load when nothing was scanned)
            if (raw == 0 && ((load<u32>(words + (<usize>i << 2)) >>> sh) & 1) == 0) continue;
            store<i32>(found + (<usize>(nFound++) << 2), i);
          }
        }
      }
    }
    if (raw != 0) store<i32>(segments + (<usize>(g + 2) << 2), nFound);
    // Per range, only the `budget` candidates that collided most often are scored.
    else if (nFound - groupFirst > budget) nFound = groupFirst + keepMostHits(ctx, found + (<usize>groupFirst << 2), nFound - groupFirst);
  }
  store<i32>(ctx + <usize>H_VISITED, visited);
  return nFound;
}
