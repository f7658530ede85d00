/**
 * The approximate search's hashing and bucket scans in WebAssembly (declared in
 * engine/search-kernel-types.ts `LshKernel`; the kernels are assembly/lsh.ts), together with its
 * candidate scoring (candidate-scoring.ts) in one layout of the search module's arena: the scoring
 * stages the sources' outputs, which the hashing reads, and the scan writes each query's candidates
 * straight into the scoring's list. Same keys, candidates and order as engine/reference/lsh.ts.
 *
 * Admissibility: by words copied in once per super block of 512 queries (`loadWords`), read by the
 * scan; a per-pair test cannot run in WebAssembly, so there the scan keeps every meeting ("raw") and
 * this file filters them in scan order and cuts each range to the budget with the module's
 * keepMostHits — the same list the plain kernel builds.
 *
 * Legend: k neurons, S samples, P rotation length, L tables, R norm ranges, ns indexed sources.
 */
import type { CandidateScoringKernel, LshIndex, LshKernel, SearchActivity } from "../search-kernel-types.js";
import { SUPER_BLOCK_TARGETS } from "../../graph/admissibility.js";
import { takeScoringLayout, wasmCandidateScoring } from "./candidate-scoring.js";
import type { SearchKernels } from "./search-kernels.js";

/** The WebAssembly candidate scoring and hashing of `a` by `index`, sharing the module's memory. */
export function wasmApproximateKernels(kernels: SearchKernels, a: SearchActivity, xNorm: Float64Array, eNorm: Float64Array, index: LshIndex): { scoring: CandidateScoringKernel; lsh: LshKernel } {
  const { neurons: k, samples: S, errors } = a;
  const { rotationLength: P, rotations, tables: L, groupBits, groupStart, sourceIds, extra, probes } = index;
  const R = groupBits.length;
  const ns = sourceIds.length;
  const layout = kernels.layout;
  const arena = kernels.arena;
  let buckets = 0;
  for (let g = 0; g < R; g++) buckets += L * ((1 << groupBits[g]!) + 1);
  const histogramLength = L * 2 * (1 + probes) + 2;
  const keysLength = R * L * (1 + probes);
  const wordsLength = (SUPER_BLOCK_TARGETS / 32) * k;

  arena.reset();
  const sc = takeScoringLayout(arena, k, S);
  const at = {
    ctx: arena.take(layout.H_SIZE),
    diag: arena.take(8 * rotations * 3 * P),
    proj: arena.take(8 * rotations * P),
    groupStart: arena.take(4 * (R + 1)),
    groupBits: arena.take(4 * R),
    ids: arena.take(4 * ns),
    extra: extra ? arena.take(8 * ns) : 0,
    keyBase: arena.take(4 * (R * L + 1)),
    bucketStart: arena.take(4 * buckets),
    bucketItem: arena.take(4 * L * ns),
    sourceKey: arena.take(4 * L * ns),
    normOrder: arena.take(4 * ns),
    normRank: arena.take(4 * k),
    met: arena.take(8 * k),
    flips: arena.take(4 * Math.max(1, probes)),
    histogram: arena.take(4 * histogramLength),
    words: arena.take(4 * wordsLength),
    segments: arena.take(4 * (R + 2)),
    keys: arena.take(4 * keysLength),
  };
  arena.ensure();
  // Views only after the last ensure (a grow replaces the buffer).
  const scoring = wasmCandidateScoring(kernels, a, xNorm, eNorm, sc);
  const ctx = at.ctx;
  const fields = arena.i32(ctx, layout.H_SIZE / 4);
  const set = (field: number, value: number) => (fields[field / 4] = value);
  set(layout.H_S, S);
  set(layout.H_P, P);
  set(layout.H_ROTATIONS, rotations);
  set(layout.H_DIAG, at.diag);
  set(layout.H_PROJ, at.proj);
  set(layout.H_L, L);
  set(layout.H_BMAX, index.bMax);
  set(layout.H_R, R);
  set(layout.H_GROUP_START, at.groupStart);
  set(layout.H_GROUP_BITS, at.groupBits);
  set(layout.H_IDS, at.ids);
  set(layout.H_EXTRA, at.extra);
  set(layout.H_X, sc.X);
  set(layout.H_X_STRIDE, sc.Sp);
  set(layout.H_KEY_BASE, at.keyBase);
  set(layout.H_BUCKET_START, at.bucketStart);
  set(layout.H_BUCKET_ITEM, at.bucketItem);
  set(layout.H_SOURCE_KEY, at.sourceKey);
  set(layout.H_PROBES, probes);
  // A fractional budget keeps ⌈budget⌉ (as the plain kernel's histogram cut does); Infinity: all.
  set(layout.H_BUDGET, Math.min(Math.ceil(index.budget), 0x7fffffff));
  set(layout.H_HEAVY, index.heavy);
  set(layout.H_NORM_ORDER, at.normOrder);
  set(layout.H_NORM_RANK, at.normRank);
  set(layout.H_MET, at.met);
  set(layout.H_FLIPS, at.flips);
  set(layout.H_HISTOGRAM, at.histogram);
  set(layout.H_HISTOGRAM_LENGTH, histogramLength);
  set(layout.H_WORDS, at.words);
  set(layout.H_QUERY, sc.q);
  set(layout.H_FOUND, sc.list);
  set(layout.H_SEGMENTS, at.segments);
  arena.f64(at.diag, rotations * 3 * P).set(index.diagonals);
  arena.i32(at.groupStart, R + 1).set(groupStart);
  arena.i32(at.groupBits, R).set(groupBits);
  arena.i32(at.ids, ns).set(sourceIds);
  if (extra) arena.f64(at.extra, ns).set(extra);
  arena.i32(at.normOrder, ns).set(index.normOrder);
  arena.i32(at.normRank, k).set(index.normRank);
  kernels.lshBuildTables(ctx);
  kernels.lshResetMet(ctx, k);

  const query = arena.f32(sc.q, S);
  /** Target j's errors into the module's query row. */
  const loadQuery = (j: number): void => query.set(errors.subarray(j * S, (j + 1) * S));
  const candidates = scoring.candidates;
  const words = arena.i32(at.words, wordsLength);
  const segments = arena.i32(at.segments, R + 2);
  let visited = 0;
  const visitedField = layout.H_VISITED / 4;

  return {
    scoring,
    lsh: {
      name: "wasm",
      get visited() {
        return visited;
      },
      loadWords(w: Int32Array): void {
        words.set(w.length > wordsLength ? w.subarray(0, wordsLength) : w);
      },
      collectByWords(j: number, q: number, stop: number, wordBase: number, shift: number): number {
        loadQuery(j);
        const count = kernels.lshCollect(ctx, q, stop, wordBase, shift, false);
        visited += fields[visitedField]!;
        return count;
      },
      collect(j: number, q: number, stop: number, admits: (source: number) => boolean): number {
        loadQuery(j);
        kernels.lshCollect(ctx, q, stop, 0, 0, true);
        visited += fields[visitedField]!;
        // Filter in scan order: the heavy part, then each range cut to the budget by hits.
        let kept = 0;
        for (let f = segments[0]!; f < segments[1]!; f++) if (admits(candidates[f]!)) candidates[kept++] = candidates[f]!;
        for (let g = 0; g < R; g++) {
          const first = kept;
          for (let f = segments[1 + g]!; f < segments[2 + g]!; f++) if (admits(candidates[f]!)) candidates[kept++] = candidates[f]!;
          if (kept - first > index.budget) kept = first + kernels.lshKeepMostHits(ctx, sc.list + 4 * first, kept - first);
        }
        return kept;
      },
      sourceKeys: () => arena.i32(at.sourceKey, L * ns).slice(),
      queryKeys(j: number): Int32Array {
        loadQuery(j);
        kernels.lshQueryKeys(ctx, at.keys);
        return arena.i32(at.keys, keysLength).slice();
      },
    },
  };
}
