/**
 * The exact candidate search's WebAssembly kernel (§4.3; declared in engine/search-kernel.ts): the
 * SIMD filter of assembly/search.ts scores every admissible pair in float32 with a rigorous error
 * bound (`filterErrorBound`), and only the pairs whose upper bound can still reach the result are
 * rescored exactly — so the result is the plain kernel's (engine/reference/exact-search.ts), bit
 * for bit, at 6–9× its speed (bench/README.md). This file stages the activity in the module's memory
 * (one arena, laid out afresh per search) and fills the context block; the plain kernel's visiting
 * order is shared, so both visit sources and targets alike.
 *
 * Legend: k neurons, S samples (Sp: rounded up to a multiple of 4), K global candidates, c
 * candidates per target.
 */
import { fillWordBlocks, SUPER_BLOCK_TARGETS, type Admissibility } from "../../graph/admissibility.js";
import { TARGET_BLOCK, visitingOrder } from "../reference/exact-search.js";
import type { CandidateSink, ExactSearchCounts, ExactSearchKernel, SearchActivity } from "../search-kernel-types.js";
import { filterErrorBound, type SearchKernels } from "./search-kernels.js";

/** The exact search's WebAssembly kernel on the loaded module. */
export function wasmExactSearch(kernels: SearchKernels): ExactSearchKernel {
  return { name: "wasm", search: (a, requested, admissibility, sink) => wasmExact(a, requested, admissibility, sink, kernels) };
}

/**
 * Per block of 32 targets, the filter (assembly/search.ts searchBlock) scores every admissible pair
 * approximately and keeps those whose upper bound reaches the result; they are rescored exactly
 * (rescore: float64, sample order; the sparse gather over the same lists — the sums the plain
 * kernel computes, bit for bit) and offered to the sink. Everything that touches every sample —
 * norms, non-zero counts, packing, sparse lists, rescoring — runs in WebAssembly too, so a round is
 * fast from the first one (these loops run once per round: cold code in V8).
 */
function wasmExact(a: SearchActivity, requested: Int32Array, admissibility: Admissibility, sink: CandidateSink, kernels: SearchKernels): ExactSearchCounts {
  const { neurons: k, samples: S, outputs, errors } = a;
  const L = kernels.layout;
  const Sp = (S + 3) & ~3;
  const arena = kernels.arena;
  arena.reset();
  // Stage 1: the activity, its norms and non-zero counts.
  const A = arena.take(4 * k * S);
  const E = arena.take(4 * k * S);
  const xn = arena.take(8 * k);
  const enAll = arena.take(8 * k);
  const nnz = arena.take(4 * k);
  arena.ensure();
  arena.f32(A, k * S).set(outputs);
  arena.f32(E, k * S).set(errors);
  kernels.rowStats(A, k, S, xn, nnz);
  kernels.rowStats(E, k, S, enAll, 0);
  const xNorm = arena.f64(xn, k).slice();
  const eNorm = arena.f64(enAll, k).slice();
  const nnzOf = arena.i32(nnz, k).slice();
  const { targets, dense, sparse } = visitingOrder(k, S, requested, xNorm, eNorm, nnzOf, admissibility.rank);

  // Stage 2: packed rows, sparse lists, block buffers, outputs.
  const nd = dense.length;
  const ndPad = (nd + 3) & ~3;
  const ns = sparse.length;
  const sparseStart = new Int32Array(ns + 1);
  for (let p = 0; p < ns; p++) sparseStart[p + 1] = sparseStart[p]! + nnzOf[sparse[p]!]!;
  const nnzTotal = sparseStart[ns]!;
  const nt = targets.length;
  const c = sink.perTarget;
  const K = sink.top;
  const capacity = TARGET_BLOCK * (ndPad + ns);
  const at = {
    words: arena.take(4 * k),
    X: arena.take(4 * ndPad * Sp),
    denseId: arena.take(4 * ndPad),
    xnDense: arena.take(8 * ndPad),
    sparseStart: arena.take(4 * (ns + 1)),
    sparseSample: arena.take(4 * nnzTotal),
    sparseValue: arena.take(4 * nnzTotal),
    sparseId: arena.take(4 * ns),
    xnSparse: arena.take(8 * ns),
    blockIds: arena.take(4 * TARGET_BLOCK),
    D: arena.take(4 * TARGET_BLOCK * Sp),
    Dt: arena.take(4 * TARGET_BLOCK * Sp),
    en: arena.take(8 * TARGET_BLOCK),
    lb: arena.take(8 * TARGET_BLOCK * c),
    heap: arena.take(8 * K),
    outSlot: arena.take(4 * capacity),
    outTarget: arena.take(4 * capacity),
    outUpper: arena.take(8 * capacity),
    outInner: arena.take(8 * capacity),
  };
  arena.ensure();
  const setI32 = (field: number, value: number) => kernels.setI32(field, value);
  const setF64 = (field: number, value: number) => kernels.setF64(field, value);

  const denseId = arena.i32(at.denseId, ndPad);
  denseId.fill(-1);
  denseId.set(dense);
  kernels.packRows(A, S, at.denseId, ndPad, at.X, Sp);
  const xnDense = arena.f64(at.xnDense, ndPad);
  xnDense.fill(0);
  for (let p = 0; p < nd; p++) xnDense[p] = xNorm[dense[p]!]!;
  arena.i32(at.sparseStart, ns + 1).set(sparseStart);
  arena.i32(at.sparseId, ns).set(sparse);
  kernels.sparseLists(A, S, at.sparseId, ns, at.sparseStart, at.sparseSample, at.sparseValue);
  const xnSparse = arena.f64(at.xnSparse, ns);
  for (let p = 0; p < ns; p++) xnSparse[p] = xNorm[sparse[p]!]!;
  const blockIds = arena.i32(at.blockIds, TARGET_BLOCK);
  const en = arena.f64(at.en, TARGET_BLOCK);
  const words = arena.i32(at.words, k);
  const outSlot = arena.i32(at.outSlot, capacity);
  const outTarget = arena.i32(at.outTarget, capacity);
  const outInner = arena.f64(at.outInner, capacity);

  setI32(L.S_WORDS, at.words);
  setI32(L.S_X, at.X);
  setI32(L.S_ND, ndPad);
  setI32(L.S_DENSE_ID, at.denseId);
  setI32(L.S_XN_DENSE, at.xnDense);
  setI32(L.S_SPARSE_START, at.sparseStart);
  setI32(L.S_SPARSE_SAMPLE, at.sparseSample);
  setI32(L.S_SPARSE_VALUE, at.sparseValue);
  setI32(L.S_NS, ns);
  setI32(L.S_SPARSE_ID, at.sparseId);
  setI32(L.S_XN_SPARSE, at.xnSparse);
  setI32(L.S_D, at.D);
  setI32(L.S_DT, at.Dt);
  setI32(L.S_EN, at.en);
  setI32(L.S_SP, Sp);
  setI32(L.S_S, S);
  setI32(L.S_MODE, sink.criterion === "correlation" ? 0 : 1);
  setI32(L.S_C, c);
  setI32(L.S_LB, at.lb);
  setI32(L.S_K, K);
  setI32(L.S_HEAP, at.heap);
  setI32(L.S_OUT_SLOT, at.outSlot);
  setI32(L.S_OUT_TARGET, at.outTarget);
  setI32(L.S_OUT_UPPER, at.outUpper);
  setI32(L.S_OUT_INNER, at.outInner);
  setI32(L.S_K_NEURONS, k);
  setF64(L.S_MIN_SCORE, sink.minScore);
  const bound = filterErrorBound(S);
  setF64(L.S_ERR_REL, bound.errRel);
  setF64(L.S_ERR_ABS, bound.errAbs);
  kernels.beginSearch();

  const mask = new Uint8Array(k);
  const scratch = new Int32Array(16 * k);
  let blocks: Int32Array = scratch;
  let rescored = 0;
  for (let t0 = 0; t0 < nt; t0 += TARGET_BLOCK) {
    const block = targets.subarray(t0, Math.min(t0 + TARGET_BLOCK, nt));
    if (t0 % SUPER_BLOCK_TARGETS === 0) blocks = fillWordBlocks(admissibility, targets.subarray(t0, Math.min(t0 + SUPER_BLOCK_TARGETS, nt)), k, scratch, mask);
    const b = (t0 % SUPER_BLOCK_TARGETS) / TARGET_BLOCK;
    words.set(blocks.subarray(b * k, (b + 1) * k));
    blockIds.fill(-1);
    blockIds.set(block);
    kernels.packRows(E, S, at.blockIds, TARGET_BLOCK, at.D, Sp);
    en.fill(0);
    for (let t = 0; t < block.length; t++) en[t] = eNorm[block[t]!]!;
    const kept = kernels.searchBlock(block.length);
    kernels.rescore(kept);
    rescored += kept;
    for (let e = 0; e < kept; e++) {
      const slot = outSlot[e]!;
      const i = slot >= 0 ? dense[slot]! : sparse[-1 - slot]!;
      const j = block[outTarget[e]!]!;
      const s = outInner[e]!;
      sink.offer(i, j, s, xNorm[i]!, eNorm[j]!);
    }
  }
  return { pairsScored: 16 * kernels.getI32(L.S_TILES) + kernels.getI32(L.S_SPARSE_PAIRS), admissiblePairs: kernels.getI32(L.S_ADMISSIBLE), rescored };
}
