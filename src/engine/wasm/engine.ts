/**
 * The WebAssembly SIMD engine: the Engine interface (types.ts) over the kernels in assembly/index.ts,
 * on all cores. Same numbers as the reference engine (src/engine/reference) up to float32 rounding;
 * the reference stays the definition.
 *
 * How it is fast (measurements in the issue-3 report): neurons are renumbered in evaluation order;
 * the batch is cut into tiles of T samples (16–64, see defaultTile) so that one tile's activations
 * of all neurons stay in L2; backward pulls over the transposed graph; edges from one-hot inputs are applied
 * per active sample instead of as rows of zeros; the batch's tiles are split across threads that
 * share one memory, each with private gradient buffers summed in thread order (same seed and thread
 * count → same bits), then the optimiser update is split by parameter range.
 *
 * Files: the kernels are dist/wasm/sparsewire.wasm (one thread, plain memory) and
 * dist/wasm/sparsewire-threads.wasm (shared memory), and the same with fused multiply-adds
 * (sparsewire-fma.wasm, sparsewire-fma-threads.wasm; WasmTuning `fma`), found relative to this module's URL:
 * `new URL("../../../wasm/<file>", import.meta.url)` (Node reads it with fs, browsers fetch it).
 *
 * Memory (wasm32, at most 4 GiB), per edge: 28 bytes of graph and optimiser state + 4 per thread of
 * gradients (+ 4 on the JS side for the edge map; + 2 of source rows when the backward pull is
 * blocked, see defaultBlock, and 8 bytes per chunk); per thread K·T·8 bytes of tile buffers; per batch
 * the inputs and targets, and 2·K·B·4 bytes only when per-sample activity is requested.
 */
import { ByteLayout } from "./arena.js";
import type { Network } from "../../graph/network.js";
import { GraphError, SparsewireError, UsageError } from "../../util/errors.js";
import { checkLearningRate, checkOptimizer, clipScale } from "../optimizer.js";
import { checkBatch } from "../reference/engine.js";
import type { Batch, Engine, EngineOptions, EvaluationResult, GradientOptions, GradientResult, OptimizerConfig } from "../types.js";
import { checkOptimizerSnapshot, DEFAULT_ADAM, perParameterCorrection, type OptimizerSnapshot, type UtilityStatistics } from "../types.js";
import { checkDropout, dropoutNeuronKey, dropoutScale, dropoutStepKey, dropoutThreshold, type DropoutConfig } from "../dropout.js";
import { currentPlatform, type Platform, type WorkerHandle } from "./platform.js";
import { CONTROL_BYTES, Pool, type Kernels } from "./pool.js";

/** Tuning knobs for benchmarks and tests; defaults are what the measurements chose. */
export interface WasmTuning {
  /** Samples per tile, a power of two from 16 to 512 (default: `defaultTile(neurons)`). */
  tile?: number;
  /**
   * Cache blocking of the backward pull (issue 16): `rows` per chunk (at most 65,536) and `span`
   * consumer positions per block, positive integers, or false for the plain pull (default:
   * `defaultBlock(neurons, tile, inDegree)`). Blocking changes the order of float32 sums, so results differ from
   * the plain pull's in the last bits (both agree with the reference engine).
   */
  block?: BlockSize | false;
  /**
   * Fused multiply-add in the hot loops (forward gather, backward pull; issue 16 item 2): the kernels
   * built with WebAssembly relaxed SIMD (dist/wasm/sparsewire-fma*.wasm). Needs a runtime that has it
   * (`relaxedSimdSupported()`: Chromium 114+, Node 22+; Node 20 with `--experimental-wasm-relaxed-simd`).
   * Default false. Results differ from the plain build's in the last bits (one rounding per
   * multiply-add where the CPU has FMA; f32x4.relaxed_madd may round twice elsewhere, so they may also
   * differ between machines); both agree with the reference engine.
   */
  fma?: boolean;
}

/** Chunk and block sizes of the blocked backward pull, in neurons. */
export interface BlockSize {
  rows: number;
  span: number;
}

/**
 * Samples per tile when not given: the largest of 64, 32, 16 whose tile working set (σ and δ of all
 * neurons, K·T·8 bytes) fits in 2.5 MiB (about the L2 of one core); if none does, 32, since then the
 * per-tile stream of edge metadata matters more. Measured on a 2-core Sapphire Rapids VM (issue 3):
 * K = 1,700 → 64 (32 is as fast), 17,000 → 16, 170,000 → 32.
 */
export function defaultTile(neurons: number): number {
  for (const tile of [64, 32, 16]) if (neurons * tile * 8 <= 2.5 * 2 ** 20) return tile;
  return 32;
}

/**
 * Blocking of the backward pull when not given: on only when no tile fits in L2 (the condition under
 * which defaultTile gives up, K·T·8 > 2.5 MiB for T = 64, 32 and 16, i.e. K > 20,480) and the pieces
 * hold at least one edge on average, with chunks and blocks of about 1 MiB of δ each (P = 2^20 / (4·T)
 * rows). A source's d consumers (on average) fall into about K/P blocks, so a piece holds about d·P/K
 * edges, and each piece costs a loop of its own. Depends on (K, T, d) only, never on the thread count,
 * so results do not either. Measured on a quiet machine, a full training step at d = 29, batch 512,
 * blocked over plain: 0.76× at 25,000 neurons (1 thread; d·P/K ≈ 9.5), 0.75× / 0.65× at 50,000 (1 / 2
 * threads; 4.8) (bench/results/2026-12-04-blocked.txt); 0.87–0.99× / 0.95–1.10× at 170,000 (1.4) and
 * 1.26–1.32× at 1,000,000 (2 threads; 0.24) (the same file, 2026-12-04-fma.txt, 2026-12-04-million.txt,
 * 2026-12-04-million-defaults.txt).
 */
export function defaultBlock(neurons: number, tile: number, inDegree: number): BlockSize | false {
  if (!noTileFitsInL2(neurons)) return false;
  const block = blockSize(tile);
  return inDegree * block.rows >= neurons ? block : false;
}

/** Whether even a tile of 16 samples has more σ and δ (K·16·8 bytes) than about one core's L2 (2.5 MiB): K > 20,480. */
export function noTileFitsInL2(neurons: number): boolean {
  return neurons * 16 * 8 > 2.5 * 2 ** 20;
}

/** The blocked pull's chunks and blocks for tiles of T samples: about 1 MiB of δ each, 2^20 / (4·T) rows. */
export function blockSize(tile: number): BlockSize {
  const rows = 2 ** 20 / (4 * tile);
  return { rows, span: rows };
}

function checkBlock(block: unknown): BlockSize | false {
  if (block === false) return false;
  const b = block as Partial<BlockSize> | null;
  const ok = (v: unknown, max: number) => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= max;
  if (typeof b !== "object" || b === null || !ok(b.rows, 65536) || !ok(b.span, 2 ** 30)) {
    throw new UsageError(`invalid block ${JSON.stringify(block)}: must be false or { rows, span } with positive integers, rows at most 65,536`);
  }
  return { rows: b.rows!, span: b.span! };
}

const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () → v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b, // body: i32.const 0; i32x4.splat; end
]);

const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128, v128, v128) → v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // body: f32x4.relaxed_madd of the three; end
]);

/** Whether this runtime has WebAssembly relaxed SIMD (validates a tiny f32x4.relaxed_madd module): WasmTuning `fma`. */
export function relaxedSimdSupported(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Whether this runtime runs WebAssembly with 128-bit SIMD (validates a tiny v128 module). */
export function wasmSupported(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Names of the layout constants the kernels export (byte offsets of context and thread fields). */
const LAYOUT_NAMES = [
  "LAYOUT_VERSION", "CTX_K", "CTX_N", "CTX_M", "CTX_D", "CTX_H", "CTX_E", "CTX_T", "CTX_B", "CTX_INPUT_KIND",
  "CTX_PER_SAMPLE", "CTX_TARGET_KIND", "CTX_MODE", "CTX_ACTIVITY", "CTX_THREADS", "CTX_ROW_SRC", "CTX_ROW_W",
  "CTX_ROW_HIDDEN", "CTX_BIAS", "CTX_OUT_INDEX", "CTX_C_START", "CTX_C_POS", "CTX_W_T", "CTX_FWD_INDEX",
  "CTX_M_W", "CTX_V_W", "CTX_M_B", "CTX_V_B", "CTX_INPUTS", "CTX_TARGETS", "CTX_ACT_OUT", "CTX_ACT_ERR",
  "CTX_LOGITS_OUT", "CTX_THREAD_BLOCKS", "CTX_OPTIMIZER", "CTX_LR", "CTX_BETA1", "CTX_BETA2", "CTX_EPS", "CTX_C2",
  "CTX_GRAD_SCALE", "CTX_P1_W", "CTX_P2_W", "CTX_P1_B", "CTX_P2_B", "CTX_ACC1_W", "CTX_ACC2_W", "CTX_WD", "CTX_DROP_KEYS", "CTX_DROP_THRESHOLD", "CTX_DROP_SCALE", "CTX_BLOCK_ROWS", "CTX_BLOCK_SPAN", "CTX_C_ROW", "CTX_C_CHUNK", "CTX_SIZE", "TH_OUT", "TH_DELTA", "TH_LOGIT", "TH_DLOG", "TH_G", "TH_GB", "TH_CORRECT", "TH_LOSS",
  "TH_SQUARES", "THREAD_STRIDE", "MODE_TRAIN", "MODE_GRADIENTS", "MODE_EVALUATE", "MODE_PREDICT", "MODE_TRAIN_CLIPPED", "MODE_UPDATE",
] as const;
type Layout = Record<(typeof LAYOUT_NAMES)[number], number>;
const EXPECTED_LAYOUT_VERSION = 13;

interface Exports extends Kernels {
  heapBase(): number;
}

function readLayout(exports: WebAssembly.Exports): Layout {
  const layout = {} as Layout;
  for (const name of LAYOUT_NAMES) {
    const g = exports[name];
    if (!(g instanceof WebAssembly.Global)) throw new SparsewireError("engine", `the WebAssembly kernels lack export ${name}`, "rebuild with `npm run build`");
    layout[name] = g.value as number;
  }
  if (layout.LAYOUT_VERSION !== EXPECTED_LAYOUT_VERSION) {
    throw new SparsewireError("engine", `the WebAssembly kernels have layout version ${layout.LAYOUT_VERSION}, this engine expects ${EXPECTED_LAYOUT_VERSION}`, "rebuild with `npm run build`");
  }
  return layout;
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

interface ThreadBuffers {
  block: number;
  out: number;
  delta: number;
  logit: number;
  dlog: number;
  g: number;
  gb: number;
}

interface BatchRegion {
  inputs: number;
  targets: number;
  logitsOut: number;
  actOut: number;
  actErr: number;
}

/**
 * Creates a wasm engine for `network`. Threads: `options.threads` (default: all cores); more than one
 * needs shared memory (always in Node; in browsers only when cross-origin isolated, otherwise one
 * thread with a console warning).
 */
export async function createWasmEngine(network: Network, options: EngineOptions = {}, tuning: WasmTuning = {}): Promise<Engine & WasmEngineExtras> {
  if (!wasmSupported()) throw new SparsewireError("engine", "this runtime has no WebAssembly SIMD, so the wasm engine cannot run", "use the reference engine");
  const optimizer = options.optimizer ?? DEFAULT_ADAM;
  checkOptimizer(optimizer);
  const tile = tuning.tile ?? defaultTile(network.neurons);
  if (![16, 32, 64, 128, 256, 512].includes(tile)) throw new UsageError(`invalid tile ${tile}: must be a power of two from 16 to 512`);
  const block = tuning.block === undefined ? defaultBlock(network.neurons, tile, network.inDegree) : checkBlock(tuning.block);
  const platform = await currentPlatform();
  let threads = options.threads ?? platform.hardwareThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`invalid thread count ${threads}: must be a positive integer`);
  if (threads > 1) {
    const shared = platform.sharedMemory();
    if (!shared.ok) {
      console.warn(`sparsewire: the wasm engine runs on one thread instead of ${threads}: ${shared.reason}`);
      threads = 1;
    }
  }
  if (tuning.fma !== undefined && typeof tuning.fma !== "boolean") throw new UsageError(`invalid fma ${JSON.stringify(tuning.fma)}: must be true or false`);
  const fma = tuning.fma === true;
  if (fma && !relaxedSimdSupported()) {
    throw new SparsewireError("engine", "fused multiply-add (fma) needs WebAssembly relaxed SIMD, which this runtime does not have",
      "use Node 22 or later or Chromium 114 or later, or start Node 20 with --experimental-wasm-relaxed-simd; or leave fma off");
  }
  const module = await platform.loadModule(`sparsewire${fma ? "-fma" : ""}${threads > 1 ? "-threads" : ""}.wasm`);
  if (options.dropout) checkDropout(options.dropout);
  const dropout = options.dropout && options.dropout.rate > 0 ? options.dropout : undefined;
  const engine = new WasmEngine(network, optimizer, threads, tile, block, module, platform, options.utilityStatistics === true, dropout);
  await engine.start();
  return engine;
}

/** Extras beyond the Engine interface (benchmarks, reports). */
export interface WasmEngineExtras {
  /** Samples per tile. */
  readonly tile: number;
  /** Chunk and block sizes of the blocked backward pull, or false for the plain pull. */
  readonly block: BlockSize | false;
  /** Bytes held: WebAssembly memory plus the engine's JS-side maps. */
  memoryBytes(): number;
}

class WasmEngine implements Engine, WasmEngineExtras {
  readonly name = "wasm" as const;
  readonly threads: number;
  readonly network: Network;
  readonly optimizer: OptimizerConfig;
  readonly tile: number;
  readonly block: BlockSize | false;
  private readonly module: WebAssembly.Module;
  private readonly platform: Platform;
  private memory!: WebAssembly.Memory;
  private exports!: Exports;
  private L!: Layout;
  private pool!: Pool;
  private workers: WorkerHandle[] = [];
  private disposed = false;
  private t = 0;
  /** Updates since creation (or since the restored state began): the dropout masks' counter. */
  private updates = 0;
  private rate: number;
  private readonly dropout: DropoutConfig | undefined;
  /** Dropout: u32 key per row, set before every training step (0: no dropout). */
  private dropKeys = 0;
  // sizes
  private readonly K: number;
  private readonly N: number;
  private readonly M: number;
  private readonly D: number;
  private readonly H: number;
  private readonly E: number;
  // static layout (byte offsets)
  private ctx = 0;
  private control = 0;
  private rowSrc = 0;
  private rowW = 0;
  private rowHidden = 0;
  private bias = 0;
  private outIndex = 0;
  private cStart = 0;
  private cPos = 0;
  /** Blocked backward pull (0: off): u16 source row within its chunk per canonical slot, and per chunk its edge ranges. */
  private cRow = 0;
  private cChunk = 0;
  private wT = 0;
  private fwdIndex = 0;
  private mW = 0;
  private vW = 0;
  private mB = 0;
  private vB = 0;
  /** Accumulated utility statistics per edge slot (0: off), and the steps they hold. */
  private acc1W = 0;
  private acc2W = 0;
  private accSteps = 0;
  private readonly tracksUtility: boolean;
  /** Per-parameter bias correction: β1^τ, β2^τ per edge slot and per row (0: the global correction). */
  private p1W = 0;
  private p2W = 0;
  private p1B = 0;
  private p2B = 0;
  private perThread: ThreadBuffers[] = [];
  private batchBase = 0;
  /** pos of every network neuron (inputs keep their index; order[r] → N + r). */
  private posOf: Int32Array;
  /** Canonical slot q of every network edge (row i−n, slot e). */
  private qOfEdge: Int32Array;
  private built = false;

  constructor(network: Network, optimizer: OptimizerConfig, threads: number, tile: number, block: BlockSize | false, module: WebAssembly.Module, platform: Platform, utilityStatistics = false, dropout?: DropoutConfig) {
    this.network = network;
    this.dropout = dropout;
    this.tracksUtility = utilityStatistics;
    this.optimizer = optimizer;
    this.rate = optimizer.learningRate;
    this.threads = threads;
    this.tile = tile;
    this.block = block;
    this.module = module;
    this.platform = platform;
    this.K = network.neurons;
    this.N = network.inputs;
    this.M = network.outputs;
    this.D = network.inDegree;
    this.H = this.K - this.N;
    this.E = this.H * this.D;
    this.posOf = new Int32Array(this.K);
    this.qOfEdge = new Int32Array(this.E);
  }

  /** Lays out memory, instantiates the kernels, copies the network in, starts the workers. */
  async start(): Promise<void> {
    const { K, N, M, H, E, tile: T, threads } = this;
    // Probe instance on a scratch memory to learn the static data size and the layout constants.
    const shared = threads > 1;
    const scratch = new WebAssembly.Memory(shared ? { initial: 1, maximum: MAX_PAGES, shared: true } : { initial: 1, maximum: MAX_PAGES });
    const probe = new WebAssembly.Instance(this.module, { env: { memory: scratch, abort } });
    const L = readLayout(probe.exports);
    // The whole layout first (the memory is created at its size, shared or not), on the arena's rules.
    const layout = new ByteLayout((probe.exports as unknown as Exports).heapBase());
    const take = (bytes: number) => layout.take(bytes);
    this.ctx = take(L.CTX_SIZE);
    this.control = take(CONTROL_BYTES);
    const blocks = take(L.THREAD_STRIDE * threads);
    this.rowSrc = take(4 * E);
    this.rowW = take(4 * E);
    this.rowHidden = take(4 * H);
    this.bias = take(4 * H);
    this.outIndex = take(4 * H);
    this.cStart = take(4 * (K + 1));
    this.cPos = take(4 * E);
    if (this.block) {
      this.cRow = take(2 * E + 16);
      this.cChunk = take(4 * (2 * Math.ceil(H / this.block.rows) + 1));
    }
    this.wT = take(4 * E + 16);
    this.fwdIndex = take(4 * E + 16);
    this.mW = take(4 * E + 16);
    this.vW = take(4 * E + 16);
    this.mB = take(4 * H + 16);
    this.vB = take(4 * H + 16);
    if (this.tracksUtility) {
      this.acc1W = take(4 * E + 16);
      this.acc2W = take(4 * E + 16);
    }
    if (perParameterCorrection(this.optimizer)) {
      this.p1W = take(4 * E + 16);
      this.p2W = take(4 * E + 16);
      this.p1B = take(4 * H + 16);
      this.p2B = take(4 * H + 16);
    }
    if (this.dropout) this.dropKeys = take(4 * H + 16);
    for (let p = 0; p < threads; p++) {
      this.perThread.push({
        block: blocks + p * L.THREAD_STRIDE,
        // K rounded up to 4 rows: the kernels transpose 4×4 blocks (and use δ as scratch in the forward)
        out: take(4 * (K + 4) * T),
        delta: take(4 * (K + 4) * T),
        logit: take(4 * M * T),
        dlog: take(4 * M * T),
        g: take(4 * E + 16),
        gb: take(4 * H + 16),
      });
    }
    const top = layout.top;
    this.batchBase = top;
    if (top > MAX_PAGES * PAGE) {
      throw new SparsewireError("engine", `the network needs ${(top / 2 ** 30).toFixed(2)} GiB of WebAssembly memory, more than the 4 GiB of wasm32`, "use fewer threads or a smaller tile");
    }
    const pages = Math.ceil(top / PAGE) + 1;
    this.memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: MAX_PAGES, shared: true } : { initial: pages, maximum: MAX_PAGES });
    const instance = new WebAssembly.Instance(this.module, { env: { memory: this.memory, abort } });
    this.exports = instance.exports as unknown as Exports;
    this.L = L;

    // Context block: sizes and pointers that never change.
    this.setI32(L.CTX_K, K);
    this.setI32(L.CTX_N, N);
    this.setI32(L.CTX_M, M);
    this.setI32(L.CTX_D, this.D);
    this.setI32(L.CTX_H, H);
    this.setI32(L.CTX_E, E);
    this.setI32(L.CTX_T, T);
    this.setI32(L.CTX_ROW_SRC, this.rowSrc);
    this.setI32(L.CTX_ROW_W, this.rowW);
    this.setI32(L.CTX_ROW_HIDDEN, this.rowHidden);
    this.setI32(L.CTX_BIAS, this.bias);
    this.setI32(L.CTX_OUT_INDEX, this.outIndex);
    this.setI32(L.CTX_C_START, this.cStart);
    this.setI32(L.CTX_C_POS, this.cPos);
    this.setI32(L.CTX_W_T, this.wT);
    this.setI32(L.CTX_FWD_INDEX, this.fwdIndex);
    this.setI32(L.CTX_M_W, this.mW);
    this.setI32(L.CTX_V_W, this.vW);
    this.setI32(L.CTX_M_B, this.mB);
    this.setI32(L.CTX_V_B, this.vB);
    this.setI32(L.CTX_P1_W, this.p1W);
    this.setI32(L.CTX_P2_W, this.p2W);
    this.setI32(L.CTX_P1_B, this.p1B);
    this.setI32(L.CTX_P2_B, this.p2B);
    this.setI32(L.CTX_ACC1_W, this.acc1W);
    this.setI32(L.CTX_ACC2_W, this.acc2W);
    this.setI32(L.CTX_THREAD_BLOCKS, blocks);
    // One context for all threads: the blocking (like the tile) is the same for every thread.
    this.setI32(L.CTX_BLOCK_ROWS, this.block ? this.block.rows : 0);
    this.setI32(L.CTX_BLOCK_SPAN, this.block ? this.block.span : 0);
    this.setI32(L.CTX_C_ROW, this.cRow);
    this.setI32(L.CTX_C_CHUNK, this.cChunk);
    const o = this.optimizer;
    this.setI32(L.CTX_OPTIMIZER, o.kind === "adam" ? 0 : 1);
    for (const b of this.perThread) {
      const v = new Int32Array(this.memory.buffer, b.block, L.THREAD_STRIDE / 4);
      v[L.TH_OUT / 4] = b.out;
      v[L.TH_DELTA / 4] = b.delta;
      v[L.TH_LOGIT / 4] = b.logit;
      v[L.TH_DLOG / 4] = b.dlog;
      v[L.TH_G / 4] = b.g;
      v[L.TH_GB / 4] = b.gb;
    }
    this.push();

    this.pool = new Pool(this.exports, this.memory, this.control, this.ctx, threads, this.platform.mainThreadCanBlock);
    try {
      for (let p = 1; p < threads; p++) {
        this.workers.push(await this.platform.spawnWorker({ module: this.module, memory: this.memory, ctx: this.ctx, control: this.control, thread: p }));
      }
    } catch (e) {
      await this.dispose();
      throw e;
    }
  }

  get timestep(): number {
    return this.t;
  }

  get learningRate(): number {
    return this.rate;
  }

  setLearningRate(rate: number): void {
    checkLearningRate(rate);
    this.rate = rate;
  }

  // ---- memory helpers (views are made fresh: the buffer changes when memory grows) ----

  private setI32(field: number, value: number): void {
    new Int32Array(this.memory.buffer, this.ctx + field, 1)[0] = value;
  }
  private setF32(field: number, value: number): void {
    new Float32Array(this.memory.buffer, this.ctx + field, 1)[0] = value;
  }
  private i32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, length);
  }
  private f32(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }
  private ensureMemory(bytes: number): void {
    if (bytes > MAX_PAGES * PAGE) {
      throw new SparsewireError("engine", `this batch needs ${(bytes / 2 ** 30).toFixed(2)} GiB of WebAssembly memory, more than the 4 GiB of wasm32`, "use a smaller batch (or no per-sample activity)");
    }
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      // Grow with headroom (an eighth, at least 1 MiB) so that changing batch sizes rarely grow again.
      const want = Math.min(MAX_PAGES * PAGE, Math.max(bytes, have + Math.max(have / 8, 2 ** 20)));
      this.memory.grow(Math.ceil((want - have) / PAGE));
    }
  }

  memoryBytes(): number {
    return this.memory.buffer.byteLength + this.posOf.byteLength + this.qOfEdge.byteLength;
  }

  // ---- graph and parameters in/out ----

  push(): void {
    this.checkAlive();
    const net = this.network;
    const { K, N, M, D, H, E } = this;
    const order = net.order;
    if (order.length !== H) throw new GraphError(`network order has ${order.length} neurons, expected ${H} non-inputs`, "call network.computeOrder() after editing edges");
    // Old optimiser state, by network edge / neuron, so that it survives renumbering: m, v (and,
    // with per-parameter correction, β1^τ, β2^τ) per edge slot and per row.
    const slotState = [this.mW, this.vW, ...(this.p1W ? [this.p1W, this.p2W] : []), ...(this.acc1W ? [this.acc1W, this.acc2W] : [])];
    const rowState = [this.mB, this.vB, ...(this.p1B ? [this.p1B, this.p2B] : [])];
    let oldSlots: Float32Array[] | undefined, oldRows: Float32Array[] | undefined;
    let oldQ: Int32Array | undefined, oldPos: Int32Array | undefined;
    if (this.built) {
      oldSlots = slotState.map((at) => this.f32(at, E).slice());
      oldRows = rowState.map((at) => this.f32(at, H).slice());
      oldQ = this.qOfEdge.slice();
      oldPos = this.posOf.slice();
    }
    // New numbering, checked in full before anything in the engine changes.
    const posOf = new Int32Array(K);
    for (let i = 0; i < N; i++) posOf[i] = i;
    posOf.fill(-1, N);
    for (let r = 0; r < H; r++) {
      const j = order[r]!;
      if (!(j >= N && j < K) || posOf[j] !== -1) throw new GraphError(`network order is not a permutation of the non-input neurons (entry ${r} is ${j})`, "call network.computeOrder() after editing edges");
      posOf[j] = N + r;
    }
    for (let r = 0; r < H; r++) {
      const j = order[r]!;
      const base = (j - N) * D;
      for (let e = 0; e < D; e++) {
        const s = net.sources[base + e]!;
        if (!(s >= 0 && s < K)) throw new GraphError(`neuron ${j}: edge ${e} has source ${s}, outside 0..${K - 1}`);
        if (s >= N && !(posOf[s]! < N + r)) {
          throw new GraphError(`neuron ${j}: edge ${e} from ${s} reads a neuron that is not earlier in the evaluation order`, "call network.computeOrder() after editing edges");
        }
      }
    }
    this.posOf = posOf;
    const sources = net.sources;
    const weights = net.weights;
    const rowStride = 4 * this.tile; // bytes per neuron in a tile buffer
    const rowSrc = this.i32(this.rowSrc, E);
    const rowW = this.f32(this.rowW, E);
    const rowHidden = this.i32(this.rowHidden, H);
    const bias = this.f32(this.bias, H);
    const outIndex = this.i32(this.outIndex, H);
    const rowNet = new Int32Array(E); // network edge of each row-order slot
    const srcPos = new Int32Array(E); // source pos of each row-order slot
    for (let r = 0; r < H; r++) {
      const j = order[r]!;
      const base = (j - N) * D;
      let f = r * D;
      for (let e = 0; e < D; e++) {
        const s = sources[base + e]!;
        if (s < N) continue;
        const sp = posOf[s]!;
        srcPos[f] = sp;
        rowSrc[f] = sp * rowStride;
        rowW[f] = weights[base + e]!;
        rowNet[f++] = base + e;
      }
      rowHidden[r] = f - r * D;
      for (let e = 0; e < D; e++) {
        const s = sources[base + e]!;
        if (s >= N) continue;
        srcPos[f] = s;
        rowSrc[f] = s * rowStride;
        rowW[f] = weights[base + e]!;
        rowNet[f++] = base + e;
      }
      bias[r] = net.biases[j]!;
      outIndex[r] = j >= K - M ? j - (K - M) : -1;
    }
    // Canonical order: the transposed graph (consumers of each source pos, ascending, since rows
    // are visited in pos order); edges from inputs come first.
    const cStart = this.i32(this.cStart, K + 1);
    cStart.fill(0);
    for (let f = 0; f < E; f++) cStart[srcPos[f]! + 1]!++;
    for (let s = 0; s < K; s++) cStart[s + 1]! += cStart[s]!;
    const fill = cStart.slice(0, K);
    const cPos = this.i32(this.cPos, E);
    const fwdIndex = this.i32(this.fwdIndex, E);
    const wT = this.f32(this.wT, E);
    const qOfEdge = this.qOfEdge;
    for (let f = 0; f < E; f++) {
      const q = fill[srcPos[f]!]!++;
      // consumer pos·T·4 (its row in a tile buffer); for edges from inputs pos·4 (its column in the
      // sample-major one-hot scratch; the kernels shift it for dense input rows)
      const consumer = N + ((f / D) | 0);
      cPos[q] = srcPos[f]! < N ? consumer * 4 : consumer * rowStride;
      fwdIndex[q] = f;
      wT[q] = rowW[f]!;
      qOfEdge[rowNet[f]!] = q;
    }
    if (this.block) this.blockLayout(cStart, cPos, fwdIndex, wT);
    // Optimiser state follows its edge slot and its neuron.
    if (oldSlots && oldRows && oldQ && oldPos) {
      slotState.forEach((at, a) => {
        const now = this.f32(at, E);
        const old = oldSlots![a]!;
        for (let e = 0; e < E; e++) now[qOfEdge[e]!] = old[oldQ![e]!]!;
      });
      rowState.forEach((at, a) => {
        const now = this.f32(at, H);
        const old = oldRows![a]!;
        for (let j = N; j < K; j++) now[posOf[j]! - N] = old[oldPos![j]! - N]!;
      });
    } else {
      // m = v = 0; β^τ = 1 (τ = 0).
      // m = v = 0, β^τ = 1 (τ = 0), utility sums 0.
      slotState.forEach((at) => this.f32(at, E).fill(at === this.p1W || at === this.p2W ? 1 : 0));
      rowState.forEach((at, a) => this.f32(at, H).fill(a < 2 ? 0 : 1));
    }
    this.built = true;
  }

  /**
   * Blocked backward pull (assembly/index.ts, backwardBlocked): the canonical slots of edges from
   * non-inputs are put in the order the kernel visits them, so that it streams its edge data. Chunks of
   * R rows from the last row down; per chunk first its edges to consumers after it, by consumer block
   * of P positions (ascending), then source row, then consumer; then its edges inside the chunk, by
   * source row descending, then consumer. cRow[q] = the source's row within its chunk; cChunk[2k],
   * cChunk[2k + 1], cChunk[2k + 2] = where chunk k (k = 0: the last) starts, where its inside edges
   * start, where it ends. cStart of non-inputs is then unused (edges from inputs keep the first slots).
   */
  private blockLayout(cStart: Int32Array, cPos: Int32Array, fwdIndex: Int32Array, wT: Float32Array): void {
    const { N, H, E } = this;
    const { rows: R, span: P } = this.block as BlockSize;
    const rowStride = 4 * this.tile;
    const first = cStart[N]!;
    const order = new Int32Array(E - first); // new slot − first → old slot
    const chunkTable = this.i32(this.cChunk, 2 * Math.ceil(H / R) + 1);
    const cRow = new Uint16Array(this.memory.buffer, this.cRow, E);
    // Per chunk its edges to later consumers in (source row, consumer) order with their block, then
    // a stable counting sort by block (a comparison sort where there are far more blocks than edges).
    let at = 0;
    let k = 0;
    for (let c1 = H; c1 > 0; c1 -= R, k++) {
      const c0 = Math.max(0, c1 - R);
      const inside = (N + c1) * rowStride; // cPos below this: a consumer inside the chunk
      chunkTable[2 * k] = first + at;
      let n = 0;
      for (let q = cStart[N + c0]!; q < cStart[N + c1]!; q++) if (cPos[q]! >= inside) n++;
      const tmpQ = new Int32Array(n);
      const tmpB = new Int32Array(n);
      n = 0;
      for (let r = c0; r < c1; r++) {
        for (let q = cStart[N + r]!; q < cStart[N + r + 1]!; q++) {
          if (cPos[q]! < inside) continue;
          tmpQ[n] = q;
          tmpB[n++] = Math.floor((cPos[q]! / rowStride - N - c1) / P);
        }
      }
      const blocks = Math.ceil((H - c1) / P);
      if (blocks <= 4 * n + 1024) {
        const count = new Int32Array(blocks + 1);
        for (let i = 0; i < n; i++) count[tmpB[i]! + 1]!++;
        for (let j = 0; j < blocks; j++) count[j + 1]! += count[j]!;
        for (let i = 0; i < n; i++) order[at + count[tmpB[i]!]!++] = tmpQ[i]!;
      } else {
        const idx = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => tmpB[a]! - tmpB[b]! || a - b);
        for (let i = 0; i < n; i++) order[at + i] = tmpQ[idx[i]!]!;
      }
      at += n;
      chunkTable[2 * k + 1] = first + at;
      for (let r = c1 - 1; r >= c0; r--) {
        for (let q = cStart[N + r]!; q < cStart[N + r + 1]!; q++) if (cPos[q]! < inside) order[at++] = q;
      }
      // cRow while the old slots are still source-major: row − the chunk's first row
      for (let r = c0; r < c1; r++) for (let q = cStart[N + r]!; q < cStart[N + r + 1]!; q++) cRow[q] = r - c0;
    }
    chunkTable[2 * k] = first + at;
    if (at !== E - first) throw new SparsewireError("engine", `blocked layout lost edges: ${at} of ${E - first}`, "report this bug");
    // Apply the permutation to every slot array, one at a time through one scratch copy.
    const scratch = new Int32Array(E - first);
    const permute = (a: Int32Array | Uint16Array | Float32Array) => {
      const view = a instanceof Float32Array ? new Float32Array(scratch.buffer) : a instanceof Uint16Array ? new Uint16Array(scratch.buffer, 0, E - first) : scratch;
      view.set(a.subarray(first, E));
      for (let i = 0; i < order.length; i++) a[first + i] = view[order[i]! - first]!;
    };
    permute(cPos);
    permute(fwdIndex);
    permute(wT);
    permute(cRow);
    const newOf = scratch; // reused: old slot − first → new slot
    for (let i = 0; i < order.length; i++) newOf[order[i]! - first] = first + i;
    const qOfEdge = this.qOfEdge;
    for (let e = 0; e < E; e++) if (qOfEdge[e]! >= first) qOfEdge[e] = newOf[qOfEdge[e]! - first]!;
  }

  pull(): void {
    this.checkAlive();
    const { K, N, E } = this;
    const wT = this.f32(this.wT, E);
    const weights = this.network.weights;
    const qOfEdge = this.qOfEdge;
    for (let e = 0; e < E; e++) weights[e] = wT[qOfEdge[e]!]!;
    const bias = this.f32(this.bias, this.H);
    for (let j = N; j < K; j++) this.network.biases[j] = bias[this.posOf[j]! - N]!;
  }

  resetTimestep(): void {
    this.t = 0;
    if (this.p1W) {
      for (const at of [this.p1W, this.p2W]) this.f32(at, this.E).fill(1);
      for (const at of [this.p1B, this.p2B]) this.f32(at, this.H).fill(1);
    }
  }

  resetEdgeState(edge: number): void {
    this.checkAlive();
    if (!(Number.isInteger(edge) && edge >= 0 && edge < this.E)) throw new UsageError(`edge ${edge} is outside 0..${this.E - 1}`);
    const q = this.qOfEdge[edge]!;
    // Views are cached (a rewiring round resets thousands of edges); the memory may have grown.
    if (this.momentViews?.buffer !== this.memory.buffer) {
      this.momentViews = {
        buffer: this.memory.buffer, m: this.f32(this.mW, this.E), v: this.f32(this.vW, this.E),
        ...(this.p1W ? { p1: this.f32(this.p1W, this.E), p2: this.f32(this.p2W, this.E) } : {}),
      };
    }
    this.momentViews.m[q] = 0;
    this.momentViews.v[q] = 0;
    // Per-parameter correction: the new edge's own step count starts again at 0.
    if (this.momentViews.p1 && this.momentViews.p2) {
      this.momentViews.p1[q] = 1;
      this.momentViews.p2[q] = 1;
    }
    if (this.acc1W) {
      this.f32(this.acc1W, this.E)[q] = 0;
      this.f32(this.acc2W, this.E)[q] = 0;
    }
  }

  accumulatedUtility(): UtilityStatistics | undefined {
    this.checkAlive();
    if (!this.acc1W) return undefined;
    const a1 = this.f32(this.acc1W, this.E);
    const a2 = this.f32(this.acc2W, this.E);
    const q = this.qOfEdge;
    return { steps: this.accSteps, firstOrder: Float32Array.from(q, (slot) => a1[slot]!), squared: Float32Array.from(q, (slot) => a2[slot]!) };
  }

  clearAccumulatedUtility(): void {
    this.checkAlive();
    if (!this.acc1W) return;
    this.f32(this.acc1W, this.E).fill(0);
    this.f32(this.acc2W, this.E).fill(0);
    this.accSteps = 0;
  }
  private momentViews: { buffer: ArrayBufferLike; m: Float32Array; v: Float32Array; p1?: Float32Array; p2?: Float32Array } | undefined;

  optimizerState(): OptimizerSnapshot {
    this.checkAlive();
    const { K, N, E, H } = this;
    const mW = this.f32(this.mW, E);
    const vW = this.f32(this.vW, E);
    const mB = this.f32(this.mB, H);
    const vB = this.f32(this.vB, H);
    const state: OptimizerSnapshot = { timestep: this.t, updates: this.updates, weightFirst: new Float32Array(E), weightSecond: new Float32Array(E), biasFirst: new Float32Array(K), biasSecond: new Float32Array(K) };
    for (let e = 0; e < E; e++) {
      state.weightFirst[e] = mW[this.qOfEdge[e]!]!;
      state.weightSecond[e] = vW[this.qOfEdge[e]!]!;
    }
    for (let j = N; j < K; j++) {
      state.biasFirst[j] = mB[this.posOf[j]! - N]!;
      state.biasSecond[j] = vB[this.posOf[j]! - N]!;
    }
    if (this.p1W) {
      const byEdge = (at: number) => { const a = this.f32(at, E); return Float32Array.from({ length: E }, (_, e) => a[this.qOfEdge[e]!]!); };
      const byNeuron = (at: number) => { const a = this.f32(at, H); const out = new Float32Array(K).fill(1); for (let j = N; j < K; j++) out[j] = a[this.posOf[j]! - N]!; return out; };
      state.powers = { weightBeta1: byEdge(this.p1W), weightBeta2: byEdge(this.p2W), biasBeta1: byNeuron(this.p1B), biasBeta2: byNeuron(this.p2B) };
    }
    return state;
  }

  setOptimizerState(state: OptimizerSnapshot): void {
    this.checkAlive();
    const { K, N, E, H } = this;
    checkOptimizerSnapshot(state, E, K);
    const mW = this.f32(this.mW, E);
    const vW = this.f32(this.vW, E);
    const mB = this.f32(this.mB, H);
    const vB = this.f32(this.vB, H);
    for (let e = 0; e < E; e++) {
      mW[this.qOfEdge[e]!] = state.weightFirst[e]!;
      vW[this.qOfEdge[e]!] = state.weightSecond[e]!;
    }
    for (let j = N; j < K; j++) {
      mB[this.posOf[j]! - N] = state.biasFirst[j]!;
      vB[this.posOf[j]! - N] = state.biasSecond[j]!;
    }
    this.t = state.timestep;
    this.updates = state.updates ?? 0;
    const o = this.optimizer;
    if (this.p1W && o.kind === "adam") {
      // Without powers in the snapshot (saved under the global correction), every τ is its timestep.
      const set = (at: number, count: number, from: Float32Array | undefined, index: (i: number) => number, pos: (i: number) => number, beta: number) => {
        const a = this.f32(at, count);
        if (!from) a.fill(Math.pow(beta, state.timestep));
        else for (let i = 0; i < count; i++) a[pos(i)] = from[index(i)]!;
      };
      const p = state.powers;
      set(this.p1W, E, p?.weightBeta1, (e) => e, (e) => this.qOfEdge[e]!, o.beta1);
      set(this.p2W, E, p?.weightBeta2, (e) => e, (e) => this.qOfEdge[e]!, o.beta2);
      set(this.p1B, H, p?.biasBeta1, (r) => N + r, (r) => this.posOf[N + r]! - N, o.beta1);
      set(this.p2B, H, p?.biasBeta2, (r) => N + r, (r) => this.posOf[N + r]! - N, o.beta2);
    }
  }

  // ---- batches ----

  /** Copies the batch in, sets the per-call context, returns the number of threads taking part. */
  private prepare(batch: Batch, mode: number, activity: boolean): number {
    this.checkAlive();
    checkBatch(this.network, batch);
    const L = this.L;
    const { K, N, M, tile: T } = this;
    const B = batch.size;
    const oneHot = batch.inputs.kind === "one-hot";
    const perSample = batch.inputs.kind === "one-hot" ? batch.inputs.perSample : 0;
    const inputBytes = oneHot ? 4 * B * perSample : 4 * N * B;
    const classTargets = batch.targets.kind === "class";
    const targetBytes = classTargets ? 4 * B : 4 * M * B;
    const layout = new ByteLayout(this.batchBase);
    const take = (bytes: number) => layout.take(bytes);
    const region: BatchRegion = {
      inputs: take(inputBytes),
      targets: take(targetBytes),
      logitsOut: mode === L.MODE_PREDICT ? take(4 * M * B) : 0,
      actOut: activity ? take(4 * K * B) : 0,
      actErr: activity ? take(4 * K * B) : 0,
    };

    this.ensureMemory(layout.top);
    if (batch.inputs.kind === "one-hot") this.i32(region.inputs, B * perSample).set(batch.inputs.active.subarray(0, B * perSample));
    else this.f32(region.inputs, N * B).set(batch.inputs.values);
    if (mode !== L.MODE_PREDICT) {
      if (batch.targets.kind === "class") this.i32(region.targets, B).set(batch.targets.classes.subarray(0, B));
      else this.f32(region.targets, M * B).set(batch.targets.values);
    }
    const active = Math.min(this.threads, Math.ceil(B / T));
    this.setI32(L.CTX_B, B);
    this.setI32(L.CTX_INPUT_KIND, oneHot ? 0 : 1);
    this.setI32(L.CTX_PER_SAMPLE, perSample);
    this.setI32(L.CTX_TARGET_KIND, batch.targets.kind === "class" ? (batch.targets.loss === "sigmoid-squared" ? 2 : batch.targets.loss === "sigmoid-squared-set" ? 3 : 0) : 1);
    this.setI32(L.CTX_MODE, mode);
    this.setI32(L.CTX_ACTIVITY, activity ? 1 : 0);
    this.setI32(L.CTX_THREADS, active);
    this.setI32(L.CTX_INPUTS, region.inputs);
    this.setI32(L.CTX_TARGETS, region.targets);
    this.setI32(L.CTX_ACT_OUT, region.actOut);
    this.setI32(L.CTX_ACT_ERR, region.actErr);
    this.setI32(L.CTX_LOGITS_OUT, region.logitsOut);
    this.setI32(L.CTX_DROP_KEYS, 0); // training steps switch dropout on after this
    this.region = region;
    return active;
  }
  private region: BatchRegion | undefined;

  /** Sum of the active threads' loss sums and arg-max hits, in thread order. */
  private totals(active: number): { lossSum: number; correct: number } {
    const L = this.L;
    let lossSum = 0;
    let correct = 0;
    for (let p = 0; p < active; p++) {
      const block = this.perThread[p]!.block;
      lossSum += new Float64Array(this.memory.buffer, block + L.TH_LOSS, 1)[0]!;
      correct += new Int32Array(this.memory.buffer, block + L.TH_CORRECT, 1)[0]!;
    }
    return { lossSum, correct };
  }

  gradients(batch: Batch, options: GradientOptions = {}): GradientResult {
    const activity = options.activity === true;
    const active = this.prepare(batch, this.L.MODE_GRADIENTS, activity);
    this.pool.run(2, active);
    const { K, N, E, H } = this;
    const B = batch.size;
    const g = this.f32(this.perThread[0]!.g, E);
    const gb = this.f32(this.perThread[0]!.gb, H);
    const weightGradients = new Float32Array(E);
    const qOfEdge = this.qOfEdge;
    for (let e = 0; e < E; e++) weightGradients[e] = g[qOfEdge[e]!]!;
    const biasGradients = new Float32Array(K);
    for (let j = N; j < K; j++) biasGradients[j] = gb[this.posOf[j]! - N]!;
    const result: GradientResult = { loss: this.totals(active).lossSum / B, weightGradients, biasGradients };
    if (activity) {
      const region = this.region!;
      const outputs = new Float32Array(K * B);
      const errors = new Float32Array(K * B);
      const actOut = this.f32(region.actOut, K * B);
      const actErr = this.f32(region.actErr, K * B);
      for (let j = 0; j < K; j++) {
        const from = this.posOf[j]! * B;
        outputs.set(actOut.subarray(from, from + B), j * B);
        errors.set(actErr.subarray(from, from + B), j * B);
      }
      result.outputs = outputs;
      result.errors = errors;
    }
    return result;
  }

  evaluate(batch: Batch): EvaluationResult {
    const active = this.prepare(batch, this.L.MODE_EVALUATE, false);
    this.pool.run(1, active);
    const { lossSum, correct } = this.totals(active);
    return { lossSum, correct: batch.targets.kind === "class" ? correct : 0, count: batch.size };
  }

  predict(batch: Batch): Float32Array {
    const active = this.prepare(batch, this.L.MODE_PREDICT, false);
    this.pool.run(1, active);
    return this.f32(this.region!.logitsOut, this.M * batch.size).slice();
  }

  step(batch: Batch): number {
    const L = this.L;
    const o = this.optimizer;
    const active = this.prepare(batch, o.clipNorm ? L.MODE_TRAIN_CLIPPED : L.MODE_TRAIN, false);
    if (this.dropout) this.setDropout(this.dropout);
    this.updates++;
    this.t++;
    if (this.acc1W) this.accSteps++;
    if (o.kind === "adam") {
      const c1 = 1 / (1 - Math.pow(o.beta1, this.t));
      const c2 = 1 / (1 - Math.pow(o.beta2, this.t));
      // The current rate (setLearningRate) with Adam's bias correction of m folded in; with the
      // per-parameter correction the kernel corrects each parameter itself, so the plain rate.
      this.setF32(L.CTX_LR, this.p1W ? this.rate : this.rate * c1);
      this.setF32(L.CTX_BETA1, o.beta1);
      this.setF32(L.CTX_BETA2, o.beta2);
      this.setF32(L.CTX_EPS, o.epsilon);
      this.setF32(L.CTX_C2, c2);
    } else {
      this.setF32(L.CTX_LR, this.rate);
      this.setF32(L.CTX_BETA1, o.momentum);
    }
    this.setF32(L.CTX_WD, o.weightDecay ?? 0);
    if (!o.clipNorm) {
      this.pool.run(2, active);
      return this.totals(active).lossSum / batch.size;
    }
    // Clipping: backward, then Σ g² per thread share behind the barrier (summed here in thread order,
    // so the same seed and thread count give the same bits), then the update with the clipping factor.
    this.pool.run(2, active);
    let squares = 0;
    for (let p = 0; p < active; p++) squares += new Float64Array(this.memory.buffer, this.perThread[p]!.block + L.TH_SQUARES, 1)[0]!;
    this.setF32(L.CTX_GRAD_SCALE, clipScale(Math.sqrt(squares), o.clipNorm));
    this.setI32(L.CTX_MODE, L.MODE_UPDATE);
    this.pool.run(1, active);
    return this.totals(active).lossSum / batch.size;
  }

  /** This step's dropout keys, one per row (the neuron at that place of the order), and the kernel's fields. */
  private setDropout(c: DropoutConfig): void {
    const L = this.L;
    const stepKey = dropoutStepKey(c.seed, this.updates);
    const keys = new Uint32Array(this.memory.buffer, this.dropKeys, this.H);
    const order = this.network.order;
    for (let r = 0; r < this.H; r++) keys[r] = dropoutNeuronKey(stepKey, order[r]!);
    this.setI32(L.CTX_DROP_KEYS, this.dropKeys);
    this.setI32(L.CTX_DROP_THRESHOLD, dropoutThreshold(c.rate) | 0);
    this.setF32(L.CTX_DROP_SCALE, dropoutScale(c.rate));
  }

  private checkAlive(): void {
    if (this.disposed) throw new UsageError("this wasm engine has been disposed");
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pool && this.workers.length > 0) this.pool.exit();
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function abort(): never {
  throw new Error("wasm abort");
}
