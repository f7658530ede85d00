/**
 * The exact candidate search's WebAssembly filter (assembly/search.ts, compiled to
 * dist/wasm/sparsewire-search.wasm): loading, memory and the context block. src/rewire/search.ts
 * drives it; this file only makes it available.
 *
 * One instance per process (the search is single-threaded), with its own plain (non-shared) memory
 * that grows to the largest search seen. Loading:
 *   - Node ≥ 20.16: synchronously on first use (process.getBuiltinModule("node:fs") — no static Node
 *     import, so this file stays browser-safe);
 *   - browsers and older Node: `loadSearchKernels()` (async: fetch / fs via platform.ts); the Rewirer
 *     starts it when it is built, so rounds after the first few milliseconds use it.
 * Until it is loaded, or where WebAssembly SIMD is missing, the search runs its plain TypeScript
 * kernel — with the same results (the filter only decides which pairs to rescore exactly).
 */
import { SparsewireError } from "../../util/errors.js";
import { wasmSupported } from "./engine.js";
import { currentPlatform, isNode, wasmUrl } from "./platform.js";

export const SEARCH_KERNEL_FILE = "sparsewire-search.wasm";
const EXPECTED_LAYOUT_VERSION = 3;
const PAGE = 65536;
const MAX_PAGES = 65536;

/** Byte offsets of the context block's fields (exported by the module, checked on load). */
const LAYOUT_NAMES = [
  "SEARCH_LAYOUT_VERSION", "S_WORDS", "S_X", "S_ND", "S_DENSE_ID", "S_XN_DENSE", "S_SPARSE_START", "S_SPARSE_SAMPLE",
  "S_SPARSE_VALUE", "S_NS", "S_SPARSE_ID", "S_XN_SPARSE", "S_D", "S_EN", "S_SP", "S_MODE", "S_C", "S_LB", "S_K", "S_HEAP",
  "S_HEAP_SIZE", "S_OUT_SLOT", "S_OUT_TARGET", "S_OUT_UPPER", "S_TILES", "S_SPARSE_PAIRS", "S_ADMISSIBLE", "S_K_NEURONS", "S_DT", "S_S", "S_OUT_INNER",
  "S_MIN_SCORE", "S_ERR_REL", "S_ERR_ABS", "S_G", "S_SIZE",
] as const;
export type SearchLayout = Record<(typeof LAYOUT_NAMES)[number], number>;

interface RawExports {
  heapBase(): number;
  beginSearch(ctx: number): void;
  searchBlock(ctx: number, targets: number): number;
  approxDots(X: number, Sp: number, q: number, list: number, n: number, out: number): void;
  descendantWords(sources: number, n: number, d: number, order: number, H: number, levels: number, k: number, targets: number, count: number, r0: number, minLevel: number, words: number, out: number): void;
  rowStats(src: number, rows: number, S: number, norms: number, nnz: number): void;
  packRows(src: number, S: number, ids: number, count: number, dst: number, Sp: number): void;
  sparseLists(src: number, S: number, ids: number, count: number, start: number, sample: number, value: number): void;
  rescore(ctx: number, kept: number): void;
}

/** A loaded filter: its memory, layout and entry points. */
export class SearchKernels {
  readonly layout: SearchLayout;
  /** Byte offset of the context block; working memory starts at `ctx + layout.S_SIZE`. */
  readonly ctx: number;
  private readonly memory: WebAssembly.Memory;
  private readonly raw: RawExports;

  constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort } });
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
  }

  /** The memory's buffer after making sure it holds at least `bytes` bytes (views made before a grow are stale). */
  ensure(bytes: number): ArrayBuffer {
    if (bytes > MAX_PAGES * PAGE) {
      throw new SparsewireError("engine", `the candidate search needs ${(bytes / 2 ** 30).toFixed(2)} GiB of WebAssembly memory, more than the 4 GiB of wasm32`, "search fewer samples (searchSamples) or use the approximate search");
    }
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    return this.memory.buffer;
  }

  get buffer(): ArrayBuffer {
    return this.memory.buffer;
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
 * rows, order and levels (src/rewire/search.ts, orderAdmissibility). One per process; `load`
 * copies a graph in for an owner and is a no-op while that owner's graph is still there, so
 * several owners may take turns (each turn costs one copy).
 */
export class GraphKernels {
  private readonly memory: WebAssembly.Memory;
  private readonly raw: RawExports;
  private readonly base: number;
  private owner: object | undefined;
  private at = { sources: 0, order: 0, levels: 0, targets: 0, words: 0, out: 0 };
  private shape = { k: 0, n: 0, d: 0, H: 0 };

  constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    this.raw = new WebAssembly.Instance(module, { env: { memory: this.memory, abort } }).exports as unknown as RawExports;
    this.base = Math.ceil(this.raw.heapBase() / 64) * 64;
  }

  /** Copy `graph` in for `owner` unless that owner's copy is the one held. */
  load(owner: object, graph: GraphArrays): void {
    if (this.owner === owner) return;
    const { neurons: k, inputs: n, inDegree: d } = graph;
    const H = k - n;
    let top = this.base;
    const take = (bytes: number) => {
      const at = Math.ceil(top / 64) * 64;
      top = at + bytes;
      return at;
    };
    this.at = { sources: take(4 * H * d), order: take(4 * H), levels: take(4 * k), targets: take(4 * 512), words: take(64 * k), out: take(4 * 16 * k) };
    if (top > MAX_PAGES * PAGE) throw new SparsewireError("engine", `the admissibility index needs ${(top / 2 ** 30).toFixed(2)} GiB of WebAssembly memory, more than the 4 GiB of wasm32`);
    const have = this.memory.buffer.byteLength;
    if (top > have) this.memory.grow(Math.ceil((top - have) / PAGE));
    const buffer = this.memory.buffer;
    new Int32Array(buffer, this.at.sources, H * d).set(graph.sources.subarray(0, H * d));
    new Int32Array(buffer, this.at.order, H).set(graph.order.subarray(0, H));
    new Int32Array(buffer, this.at.levels, k).set(graph.levels.subarray(0, k));
    this.shape = { k, n, d, H };
    this.owner = owner;
  }

  /**
   * Admissibility bits of `targets` (≤ 512) of the owner's graph, block-major: word b·k + i has bit
   * t set iff i → targets[32b + t] is admissible. A view into this instance's memory, valid until
   * the next call.
   */
  descendantWords(owner: object, targets: Int32Array, r0: number, minLevel: number): Int32Array {
    if (this.owner !== owner) throw new SparsewireError("engine", "GraphKernels: the graph of another owner is loaded", "call load() first");
    if (targets.length > 512) throw new SparsewireError("usage", `descendantWords takes at most 512 targets, got ${targets.length}`);
    const { k, n, d, H } = this.shape;
    const buffer = this.memory.buffer;
    new Int32Array(buffer, this.at.targets, targets.length).set(targets);
    this.raw.descendantWords(this.at.sources, n, d, this.at.order, H, this.at.levels, k, this.at.targets, targets.length, r0, minLevel, this.at.words, this.at.out);
    return new Int32Array(buffer, this.at.out, Math.ceil(targets.length / 32) * k);
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
