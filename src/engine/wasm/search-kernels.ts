/**
 * The candidate searches' WebAssembly module (assembly/search.ts, compiled to
 * dist/wasm/sparsewire-search.wasm): loading, memory and the context block, and the filters' error
 * bound. The kernels that drive it are exact-search.ts, candidate-scoring.ts and lsh.ts (behind the
 * declarations of engine/search-kernel.ts); this file only makes it available.
 *
 * One instance per process (the search is single-threaded), with its own plain (non-shared) memory
 * that grows to the largest search seen, laid out by one arena (arena.ts). Loading:
 *   - Node ≥ 20.16: synchronously on first use (process.getBuiltinModule("node:fs") — no static Node
 *     import, so this file stays browser-safe);
 *   - browsers and older Node: `loadSearchKernels()` (async: fetch / fs via platform.ts); the Rewirer
 *     starts it when it is built, so rounds after the first few milliseconds use it.
 * Until it is loaded, or where WebAssembly SIMD is missing, the searches run their plain TypeScript
 * kernels — with the same results (the filter only decides which pairs to rescore exactly).
 */
import { SparsewireError } from "../../util/errors.js";
import { WasmArena, WASM_MAX_PAGES } from "./arena.js";
import { wasmSupported } from "./engine.js";
import { currentPlatform, isNode, wasmUrl } from "./platform.js";

export const SEARCH_KERNEL_FILE = "sparsewire-search.wasm";
const EXPECTED_LAYOUT_VERSION = 4;

/** Byte offsets of the context block's fields (exported by the module, checked on load). */
const LAYOUT_NAMES = [
  "SEARCH_LAYOUT_VERSION", "S_WORDS", "S_X", "S_ND", "S_DENSE_ID", "S_XN_DENSE", "S_SPARSE_START", "S_SPARSE_SAMPLE",
  "S_SPARSE_VALUE", "S_NS", "S_SPARSE_ID", "S_XN_SPARSE", "S_D", "S_EN", "S_SP", "S_MODE", "S_C", "S_LB", "S_K", "S_HEAP",
  "S_HEAP_SIZE", "S_OUT_SLOT", "S_OUT_TARGET", "S_OUT_UPPER", "S_TILES", "S_SPARSE_PAIRS", "S_ADMISSIBLE", "S_K_NEURONS", "S_DT", "S_S", "S_OUT_INNER",
  "S_MIN_SCORE", "S_ERR_REL", "S_ERR_ABS", "S_G", "S_SIZE",
  // The approximate search's hashing (assembly/lsh.ts, driven by lsh.ts).
  "H_S", "H_P", "H_ROTATIONS", "H_DIAG", "H_PROJ", "H_L", "H_BMAX", "H_R", "H_GROUP_START", "H_GROUP_BITS", "H_IDS", "H_EXTRA",
  "H_X", "H_X_STRIDE", "H_KEY_BASE", "H_BUCKET_START", "H_BUCKET_ITEM", "H_SOURCE_KEY", "H_PROBES", "H_BUDGET", "H_HEAVY",
  "H_NORM_ORDER", "H_NORM_RANK", "H_MET", "H_FLIPS", "H_HISTOGRAM", "H_HISTOGRAM_LENGTH", "H_WORDS", "H_QUERY", "H_FOUND",
  "H_SEGMENTS", "H_VISITED", "H_SIZE",
] as const;
export type SearchLayout = Record<(typeof LAYOUT_NAMES)[number], number>;

interface RawExports {
  heapBase(): number;
  beginSearch(ctx: number): void;
  searchBlock(ctx: number, targets: number): number;
  approxDots(X: number, Sp: number, q: number, list: number, n: number, out: number): void;
  descendantWords(sources: number, n: number, d: number, order: number, H: number, levels: number, k: number, targets: number, count: number, r0: number, minLevel: number, words: number, nonzero: number, out: number): void;
  rowStats(src: number, rows: number, S: number, norms: number, nnz: number): void;
  packRows(src: number, S: number, ids: number, count: number, dst: number, Sp: number): void;
  sparseLists(src: number, S: number, ids: number, count: number, start: number, sample: number, value: number): void;
  rescore(ctx: number, kept: number): void;
  quantizeRows(src: number, stride: number, S: number, rows: number, dst: number, Sq: number, wide: number, scale: number, residual: number): void;
  blockDotsI8(Q: number, Sq: number, q16: number, sources: number, owners: number, n: number, k: number, count: number, order: number, out: number): void;
  buildTables(ctx: number): void;
  resetMet(ctx: number, k: number): void;
  queryKeys(ctx: number, out: number): void;
  keepMostHits(ctx: number, list: number, count: number): number;
  collect(ctx: number, q: number, stop: number, wordBase: number, shift: number, raw: number): number;
}

/**
 * Error bound of the WebAssembly filters' float32 inner products over S samples (exact-search.ts,
 * candidate-scoring.ts): |approx − exact| ≤ errRel·‖x‖·‖δ‖ + errAbs.
 *
 * Why (see assembly/search.ts): each float32 lane sums S/4 products, then two levels of horizontal
 * adds, so |approx − exact| ≤ γ_{S/4+3}·‖x‖·‖δ‖ (+ underflow) with γ_n = n·u/(1 − n·u), u = 2⁻²⁴;
 * errRel is 4× that plus the float64 rounding of the exact sum and norms, errAbs 8× the underflow
 * bound. Generous on purpose: a looser bound only rescores more.
 */
export function filterErrorBound(S: number): { errRel: number; errAbs: number } {
  const Sp = (S + 3) & ~3;
  const u = 2 ** -24;
  const n = Sp / 4 + 3;
  return { errRel: (4 * n * u) / (1 - n * u) + Sp * 2 ** -50, errAbs: (Sp + 16) * 2 ** -147 };
}

/** Relative and absolute margins on every filtered score, as assembly/search.ts adds them. */
export const FILTER_MARGIN = 2 ** -40;
export const FILTER_TINY = 1e-300;

/** A loaded filter: its memory, layout and entry points. */
export class SearchKernels {
  readonly layout: SearchLayout;
  /** Byte offset of the context block. */
  readonly ctx: number;
  /**
   * Working memory after the context block, laid out afresh by every search (`reset`, `take`,
   * `ensure`); it grows to the largest search seen.
   */
  readonly arena: WasmArena;
  private readonly raw: RawExports;

  constructor(module: WebAssembly.Module) {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: WASM_MAX_PAGES });
    const instance = new WebAssembly.Instance(module, { env: { memory, abort } });
    const exports = instance.exports;
    const layout = {} as SearchLayout;
    for (const name of LAYOUT_NAMES) {
      const g = exports[name];
      if (!(g instanceof WebAssembly.Global)) throw new SparsewireError("engine", `${SEARCH_KERNEL_FILE} lacks export ${name}`, "rebuild with `npm run build`");
      layout[name] = g.value as number;
    }
    if (layout.SEARCH_LAYOUT_VERSION !== EXPECTED_LAYOUT_VERSION) {
      throw new SparsewireError("engine", `${SEARCH_KERNEL_FILE} has layout version ${layout.SEARCH_LAYOUT_VERSION}, expected ${EXPECTED_LAYOUT_VERSION}`, "rebuild with `npm run build`");
    }
    this.layout = layout;
    this.raw = exports as unknown as RawExports;
    this.ctx = Math.ceil(this.raw.heapBase() / 64) * 64;
    this.arena = new WasmArena(memory, this.ctx + layout.S_SIZE, "the candidate search", "search fewer samples (searchSamples) or use the approximate search");
  }

  /** Write an int32 field of the context block (`field`: a byte offset from `layout`). */
  setI32(field: number, value: number): void {
    new Int32Array(this.arena.memory.buffer, this.ctx + field, 1)[0] = value;
  }

  /** Write a float64 field of the context block. */
  setF64(field: number, value: number): void {
    new Float64Array(this.arena.memory.buffer, this.ctx + field, 1)[0] = value;
  }

  /** Read an int32 field of the context block. */
  getI32(field: number): number {
    return new Int32Array(this.arena.memory.buffer, this.ctx + field, 1)[0]!;
  }

  beginSearch(): void {
    this.raw.beginSearch(this.ctx);
  }

  /** Filter one block of `targets` ≤ 32 targets; returns how many pairs were kept in S_OUT_*. */
  searchBlock(targets: number): number {
    return this.raw.searchBlock(this.ctx, targets);
  }

  /** Exact inner products of the first `kept` pairs kept by searchBlock, into S_OUT_INNER. */
  rescore(kept: number): void {
    this.raw.rescore(this.ctx, kept);
  }

  /** Row norms (float64, sample order) and, with nnz ≠ 0, non-zero counts of `rows` rows of S floats. */
  rowStats(src: number, rows: number, S: number, norms: number, nnz: number): void {
    this.raw.rowStats(src, rows, S, norms, nnz);
  }

  /** dst row p (Sp floats) = src row ids[p] (S floats), zero-padded; zero rows for ids < 0. */
  packRows(src: number, S: number, ids: number, count: number, dst: number, Sp: number): void {
    this.raw.packRows(src, S, ids, count, dst, Sp);
  }

  /** (sample, value) lists of rows ids[0..count) of src at the precomputed offsets start[p]. */
  sparseLists(src: number, S: number, ids: number, count: number, start: number, sample: number, value: number): void {
    this.raw.sparseLists(src, S, ids, count, start, sample, value);
  }

  /** The approximate search's hashing (assembly/lsh.ts): hash and bucket the sources of the H_ block at `lshCtx`. */
  lshBuildTables(lshCtx: number): void {
    this.raw.buildTables(lshCtx);
  }

  /** Forget which sources met which query (k neurons). */
  lshResetMet(lshCtx: number, k: number): void {
    this.raw.resetMet(lshCtx, k);
  }

  /** Keys and least certain bits of the query in H_QUERY, into `out` (i32 [R·L·(1 + probes)]). */
  lshQueryKeys(lshCtx: number, out: number): void {
    this.raw.queryKeys(lshCtx, out);
  }

  /** Cut list[0..count) (i32 byte offset) to the budget by hits; returns the new count. */
  lshKeepMostHits(lshCtx: number, list: number, count: number): number {
    return this.raw.keepMostHits(lshCtx, list, count);
  }

  /** Candidates of query q into H_FOUND (raw ≠ 0: no admissibility, no budget; see assembly/lsh.ts). */
  lshCollect(lshCtx: number, q: number, stop: number, wordBase: number, shift: number, raw: boolean): number {
    return this.raw.collect(lshCtx, q, stop, wordBase, shift, raw ? 1 : 0);
  }

  /** int8 (wide: i16) copies of `rows` rows of S floats `stride` apart, rows of Sq values, with scales and residual norms (assembly/search.ts). */
  quantizeRows(src: number, stride: number, S: number, rows: number, dst: number, Sq: number, wide: boolean, scale: number, residual: number): void {
    this.raw.quantizeRows(src, stride, S, rows, dst, Sq, wide ? 1 : 0, scale, residual);
  }

  /** out[p] = ⟨Q[sources[p]], q16[owners[p]]⟩ exactly in int32 for n pairs, source-major (count: i32 [k + 1], order: i32 [n] scratch). */
  blockDotsI8(Q: number, Sq: number, q16: number, sources: number, owners: number, n: number, k: number, count: number, order: number, out: number): void {
    this.raw.blockDotsI8(Q, Sq, q16, sources, owners, n, k, count, order, out);
  }

  /** out[f] ≈ ⟨X[list[f]], q⟩ in float32 for f < n (byte offsets; rows of Sp floats). */
  approxDots(X: number, Sp: number, q: number, list: number, n: number, out: number): void {
    this.raw.approxDots(X, Sp, q, list, n, out);
  }
}

/** The graph a GraphKernels instance holds (what `load` copies). */
export interface GraphArrays {
  neurons: number;
  inputs: number;
  inDegree: number;
  sources: Int32Array;
  order: Int32Array;
  levels: Int32Array;
}

/**
 * The module's `descendantWords` on a second instance with its own memory, holding one network's
 * rows, order and levels (graph/admissibility.ts, orderAdmissibility's `fillBlocks`). One per
 * process; a graph is copied in for an owner and kept while that owner calls again, so several
 * owners may take turns (each turn costs one copy).
 */
export class GraphKernels {
  private readonly arena: WasmArena;
  private readonly raw: RawExports;
  private owner: object | undefined;
  private at = { sources: 0, order: 0, levels: 0, targets: 0, words: 0, nonzero: 0, out: 0 };
  private shape = { k: 0, n: 0, d: 0, H: 0 };

  constructor(module: WebAssembly.Module) {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: WASM_MAX_PAGES });
    this.raw = new WebAssembly.Instance(module, { env: { memory, abort } }).exports as unknown as RawExports;
    this.arena = new WasmArena(memory, this.raw.heapBase(), "the admissibility index");
  }

  /** Copy `graph` in for `owner` unless that owner's copy is the one held. */
  private load(owner: object, graph: GraphArrays): void {
    if (this.owner === owner) return;
    const { neurons: k, inputs: n, inDegree: d } = graph;
    const H = k - n;
    const arena = this.arena;
    arena.reset();
    this.at = { sources: arena.take(4 * H * d), order: arena.take(4 * H), levels: arena.take(4 * k), targets: arena.take(4 * 512), words: arena.take(64 * k), nonzero: arena.take(4 * Math.ceil(k / 32)), out: arena.take(4 * 16 * k) };
    arena.ensure();
    arena.i32(this.at.sources, H * d).set(graph.sources.subarray(0, H * d));
    arena.i32(this.at.order, H).set(graph.order.subarray(0, H));
    arena.i32(this.at.levels, k).set(graph.levels.subarray(0, k));
    this.shape = { k, n, d, H };
    this.owner = owner;
  }

  /**
   * Admissibility bits of `targets` (≤ 512) of `graph`, block-major: word b·k + i has bit t set iff
   * i → targets[32b + t] is admissible (`r0`: the targets' earliest order position, `minLevel`:
   * their lowest level). The graph is copied in unless `owner`'s copy is the one held. A view into
   * this instance's memory, valid until the next call.
   */
  descendantWords(owner: object, graph: GraphArrays, targets: Int32Array, r0: number, minLevel: number): Int32Array {
    if (targets.length > 512) throw new SparsewireError("usage", `descendantWords takes at most 512 targets, got ${targets.length}`);
    this.load(owner, graph);
    const { k, n, d, H } = this.shape;
    this.arena.i32(this.at.targets, targets.length).set(targets);
    this.raw.descendantWords(this.at.sources, n, d, this.at.order, H, this.at.levels, k, this.at.targets, targets.length, r0, minLevel, this.at.words, this.at.nonzero, this.at.out);
    return this.arena.i32(this.at.out, Math.ceil(targets.length / 32) * k);
  }
}

let kernels: SearchKernels | undefined;
let compiled: WebAssembly.Module | undefined;
let graph: GraphKernels | undefined;
let failure: string | undefined;
let pending: Promise<SearchKernels | undefined> | undefined;

function instantiate(module: WebAssembly.Module): SearchKernels | undefined {
  try {
    kernels = new SearchKernels(module);
    compiled = module;
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  }
  return kernels;
}

/** The shared GraphKernels instance, where the module is loaded (see `searchKernels`). */
export function graphKernels(): GraphKernels | undefined {
  if (!searchKernels() || !compiled) return undefined;
  graph ??= new GraphKernels(compiled);
  return graph;
}

/** Node ≥ 20.16: read and compile the module synchronously, without a static import of node:fs. */
function loadSync(): SearchKernels | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (!isNode() || typeof proc?.getBuiltinModule !== "function") return undefined;
  try {
    const fs = proc.getBuiltinModule("node:fs") as { readFileSync(path: URL): Uint8Array<ArrayBuffer> };
    return instantiate(new WebAssembly.Module(fs.readFileSync(wasmUrl(SEARCH_KERNEL_FILE, import.meta.url))));
  } catch (e) {
    failure = `cannot load ${SEARCH_KERNEL_FILE}: ${e instanceof Error ? e.message : String(e)}`;
    return undefined;
  }
}

/**
 * The loaded filter, or undefined (not loaded yet in a browser, no SIMD, or the file is missing: see
 * `searchKernelStatus`). In Node it loads synchronously on the first call.
 */
export function searchKernels(): SearchKernels | undefined {
  if (kernels || failure !== undefined) return kernels;
  if (!wasmSupported()) {
    failure = "this runtime has no WebAssembly SIMD";
    return undefined;
  }
  return loadSync();
}

/** Load the filter asynchronously (browsers; harmless where it is loaded already). Never throws. */
export function loadSearchKernels(): Promise<SearchKernels | undefined> {
  if (kernels || failure !== undefined) return Promise.resolve(kernels);
  if (!wasmSupported()) {
    failure = "this runtime has no WebAssembly SIMD";
    return Promise.resolve(undefined);
  }
  pending ??= currentPlatform()
    .then((platform) => platform.loadModule(SEARCH_KERNEL_FILE))
    .then(
      (module) => kernels ?? instantiate(module),
      (e: unknown) => {
        failure ??= `cannot load ${SEARCH_KERNEL_FILE}: ${e instanceof Error ? e.message : String(e)}`;
        return undefined;
      },
    );
  return pending;
}

/** Whether the filter is in use, and if not, why (for benchmarks and reports). */
export function searchKernelStatus(): { loaded: boolean; reason?: string } {
  if (kernels) return { loaded: true };
  return failure !== undefined ? { loaded: false, reason: failure } : { loaded: false, reason: "not loaded yet" };
}

function abort(): never {
  throw new Error("wasm abort in the search kernels");
}
