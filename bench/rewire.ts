/**
 * `npm run bench -- --only rewire`: what one rewiring round (chapter 4) costs next to the training it
 * follows. For 1,700 (the thesis network), 17,000 and 170,000 neurons at d = 29, on the wasm engine
 * with all threads and batch 512 of real text:
 *   - the time of 2048 training steps, measured over a few steps in this run and scaled;
 *   - rounds of the thesis preset (§4.6: first-order utility, |corr| ≥ 0.3, eq. 4.8 weights) with the
 *     exact and the approximate (LSH) candidate search, broken down into utility (gradients with
 *     per-sample activity + edge utilities), candidate search, selection + order repair, weight fit
 *     and push, with the round's ratio to the 2048 steps and, for LSH, its recall against the exact
 *     search on the same round's activity (where that is affordable);
 *   - RigL rounds (every 100 steps, |gradient| growth), as a ratio to their 100 steps;
 *   - at 170,000 neurons the exact search is O(k²·S): it is measured on blocks of targets sampled
 *     along the evaluation order and extrapolated (labelled as such; at 17,000 both are printed, so
 *     the extrapolation can be checked against a full measurement);
 *   - at the `--neurons` sizes (plan.large; e.g. a million neurons) the large-network path: rounds
 *     on the largest batch whose activity fits wasm32 beside the engine, the thesis preset and RigL
 *     with the approximate search and level admissibility (the exact admissibility's passes are
 *     O(k²·d/512) per round: extrapolated from sampled passes), the exact search extrapolated;
 *   - the exact search's two kernels (plain TypeScript vs the WebAssembly SIMD filter) on the same
 *     activity, interleaved, with pair-samples per second.
 * A measurement, not a test: nothing here fails on a slow number.
 */
import { performance } from "node:perf_hooks";
import { createEngine } from "../src/engine/create.js";
import type { Batch, Engine } from "../src/engine/types.js";
import { searchKernels, searchKernelStatus } from "../src/engine/wasm/search-kernels.js";
import { activityFrom, subBatch, type Activity } from "../src/estimate/activity.js";
import { Rewirer, type RoundReport } from "../src/rewire/rewire.js";
import { PRESETS, type RewireConfig } from "../src/rewire/schedule.js";
import { fillWordBlocks, orderAdmissibility, SUPER_BLOCK_TARGETS } from "../src/graph/admissibility.js";
import { descendantWordsKernel, type SearchKernel } from "../src/engine/search-kernel.js";
import { exactSearch } from "../src/rewire/exact-search.js";
import { Rng } from "../src/util/rng.js";
import { makeBatches, makeWorkload } from "./engines.js";
import type { Watchdog } from "./watchdog.js";

export interface RewireBenchPlan {
  sizes: number[];
  inDegree: number;
  batch: number;
  threads: number;
  seed: number;
  context: number;
  /** Timed rounds per configuration at 1,700 neurons (fewer at larger sizes), after one warm-up round. */
  rounds: number;
  /** Samples the candidate search uses (the Rewirer's default, 256). */
  searchSamples: number;
  quick: boolean;
  /**
   * Sizes that take the large-network path: one round per configuration, no warm-up round, the
   * thesis preset with the approximate search (the exact search extrapolated from sampled targets),
   * RigL with the approximate search (its exact search extrapolated likewise), no recall, no kernel
   * comparison. Default: sizes of 100,000 neurons or more.
   */
  large?: readonly number[];
}

/** wasm32's 4 GiB, less a margin for the engine's growth headroom and the batch's inputs. */
const WASM_BUDGET_BYTES = 4 * 2 ** 30 - 64 * 2 ** 20;

/**
 * Samples of a round's batch at this size: `batch` if the engine's memory plus the round's per-sample
 * activity (σ and δ of every neuron, 2·K·B·4 bytes in the engine) fits in wasm32's 4 GiB, else the
 * largest halving of it that does (but at least `minimum`, the search's samples; undefined if not even that fits).
 */
export function roundBatchThatFits(engineBytes: number, neurons: number, batch: number, minimum: number): number | undefined {
  for (let b = batch; b >= Math.min(batch, minimum); b = Math.floor(b / 2)) {
    if (engineBytes + 2 * neurons * b * 4 <= WASM_BUDGET_BYTES) return b;
    if (b === 1) break;
  }
  return undefined;
}

/** One measured configuration at one size: a line of `--json` output. */
export interface RewireRow {
  kind: "rewire-round";
  neurons: number;
  inDegree: number;
  edges: number;
  preset: "thesis" | "rigl";
  search: "exact" | "approximate";
  /** "measured" or "extrapolated" (exact search at 170,000: sampled targets, scaled). */
  how: "measured" | "extrapolated";
  /** Samples of the batch the round estimated utility and activity on (the search uses at most searchSamples of them). */
  batch: number;
  /**
   * The search's admissible sources: "exact" (§4.5, one pass over the order per 512 targets) or
   * "levels" (the Rewirer's `admissibility: "levels"`, a sound subset without graph passes; the
   * large-network path's measured rounds). An extrapolated approximate row adds the exact passes.
   */
  admissibility: "exact" | "levels";
  rounds: number;
  rewired: number;
  /** Median milliseconds per phase and for the whole round (recall measurement excluded). */
  ms: { utility: number; search: number; repair: number; fit: number; push: number; round: number };
  /** Milliseconds of the training interval the round follows (2048 steps for thesis, 100 for RigL). */
  intervalSteps: number;
  intervalMs: number;
  /** round / interval. */
  ratio: number;
  recall?: number;
  /** Pairs scored × samples per second of the search (exact search). */
  pairSamplesPerSec?: number;
}

/** The exact search's kernels on one activity: a line of `--json` output. */
export interface KernelRow {
  kind: "exact-search-kernels";
  neurons: number;
  targets: number;
  samples: number;
  pairsScored: number;
  js: { ms: number; pairSamplesPerSec: number } | undefined;
  wasm: { ms: number; pairSamplesPerSec: number; rescored: number } | undefined;
  ratio?: number;
}

export interface StepRow {
  kind: "training-steps";
  neurons: number;
  inDegree: number;
  edges: number;
  threads: number;
  batch: number;
  msPerStep: number;
  edgeSamplesPerSec: number;
  steps: number;
  /** What the wasm engine holds (its WebAssembly memory and maps), and that per edge. */
  memoryBytes: number;
  bytesPerEdge: number;
  /** Samples of the batches this size's rewiring rounds use (smaller than `batch` where the activity would not fit in wasm32). */
  roundBatch: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

function fmtMs(ms: number): string {
  if (ms >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

const COLUMNS = ["neurons", "preset", "candidates", "rounds", "rewired", "utility", "search", "repair", "fit", "push", "round ms", "interval", "ratio", "recall", "search G pair-samples/s"];
const WIDTHS = [9, 6, 18, 6, 9, 8, 8, 7, 6, 6, 9, 15, 7, 6, 0];

function line(cells: string[]): string {
  return cells.map((c, i) => (WIDTHS[i] === 0 ? c : i === 1 || i === 2 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join("  ").trimEnd();
}

export function rewireHeader(): string {
  return line(COLUMNS) + "\n" + line(WIDTHS.map((w, i) => "-".repeat(w === 0 ? COLUMNS[i]!.length : w)));
}

export function rewireRowLine(r: RewireRow): string {
  return line([
    r.neurons.toLocaleString("en-US"),
    r.preset,
    candidatesLabel(r),
    String(r.rounds),
    r.rewired.toLocaleString("en-US"),
    fmtMs(r.ms.utility),
    fmtMs(r.ms.search),
    fmtMs(r.ms.repair),
    fmtMs(r.ms.fit),
    fmtMs(r.ms.push),
    fmtMs(r.ms.round),
    `${r.intervalSteps} st ${fmtMs(r.intervalMs)}`,
    `${(100 * r.ratio).toFixed(r.ratio < 0.1 ? 2 : 1)} %`,
    r.recall !== undefined ? r.recall.toFixed(2) : "",
    r.pairSamplesPerSec !== undefined ? (r.pairSamplesPerSec / 1e9).toFixed(2) : "",
  ]);
}

function candidatesLabel(r: RewireRow): string {
  const name = r.search === "approximate" && (r.admissibility === "levels" || r.how === "extrapolated") ? "approx." : r.search;
  if (r.how === "extrapolated") return `${name} (extrap.)`;
  return r.admissibility === "levels" ? `${name}, levels` : name;
}

/** Median ms per step of `engine` over a few timed repeats (after a short warm-up). */
function timeSteps(engine: Engine, batches: Batch[], neurons: number): { msPerStep: number; steps: number } {
  let cursor = 0;
  const step = () => engine.step(batches[cursor++ % batches.length]!);
  const warmStart = performance.now();
  let warm = 0;
  // A step of several seconds (a million neurons on a shared machine) is warm after one step.
  while (warm < 2 || (performance.now() - warmStart < 300 && warm < 200)) {
    step();
    warm++;
    if (performance.now() - warmStart > 5000) break;
  }
  const one = (performance.now() - warmStart) / warm;
  const perRepeat = Math.max(neurons >= 100000 ? (one > 5000 ? 2 : 3) : 1, Math.min(500, Math.round(300 / one)));
  const repeats = neurons >= 100000 ? 1 : 3;
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let s = 0; s < perRepeat; s++) step();
    times.push((performance.now() - t0) / perRepeat);
  }
  return { msPerStep: median(times), steps: perRepeat * repeats };
}

/** Per-sample activity of one batch, cut to the search's samples (what a round searches on). */
function activityOf(engine: Engine, batch: Batch, samples: number): Activity {
  const g = engine.gradients(batch, { activity: true });
  const a = activityFrom(engine.network, batch.size, g);
  return samples < a.samples ? subBatch(a, samples) : a;
}

/**
 * The exact search on blocks of 32 targets that are consecutive in the evaluation order, sampled
 * uniformly along it, scaled to all targets: t(0) (the per-search setup: norms, packing) plus
 * (t(sample) − t(0)) · targets/sampled. Consecutive blocks keep the admissibility cost per target
 * what a full search pays (one pass over the order per block).
 */
function extrapolatedExactSearchMs(engine: Engine, a: Activity, blocks: number, rng: Rng, criterion: "correlation" | "gradient", minScore: number | undefined): { ms: number; sampled: number; pairSamplesPerSec: number } {
  const net = engine.network;
  const H = net.neurons - net.inputs;
  const admissibility = orderAdmissibility(net, { descendants: descendantWordsKernel });
  const starts = new Set<number>();
  while (starts.size < Math.min(blocks, Math.floor(H / 32))) starts.add(32 * rng.nextInt(Math.floor(H / 32)));
  const targets: number[] = [];
  for (const r of starts) for (let q = r; q < r + 32; q++) targets.push(net.order[q]!);
  const options = { criterion, top: 0, perTarget: 4, admissibility, ...(minScore !== undefined ? { minScore } : {}) };
  const t0 = performance.now();
  exactSearch(a, { ...options, targets: [] });
  const setup = performance.now() - t0;
  const t1 = performance.now();
  const r = exactSearch(a, { ...options, targets });
  const sampledMs = performance.now() - t1;
  return {
    ms: setup + Math.max(0, sampledMs - setup) * (H / targets.length),
    sampled: targets.length,
    pairSamplesPerSec: (r.stats.pairsScored * r.stats.samples) / (sampledMs / 1000),
  };
}

/**
 * The exact admissibility's cost in a full approximate search: one descendant pass over the order
 * per 512 targets (in rank order), timed on `passes` super-blocks sampled uniformly along the order
 * and scaled to all ⌈(k − n)/512⌉.
 */
function extrapolatedExactAdmissibilityMs(engine: Engine, passes: number, rng: Rng): { ms: number; sampled: number; total: number } {
  const net = engine.network;
  const k = net.neurons;
  const H = k - net.inputs;
  const admissibility = orderAdmissibility(net, { descendants: descendantWordsKernel });
  const total = Math.ceil(H / SUPER_BLOCK_TARGETS);
  const picks = new Set<number>();
  while (picks.size < Math.min(passes, total)) picks.add(rng.nextInt(total));
  const scratch = new Int32Array(16 * k);
  const mask = new Uint8Array(k);
  const t0 = performance.now();
  for (const b of picks) fillWordBlocks(admissibility, net.order.subarray(b * SUPER_BLOCK_TARGETS, (b + 1) * SUPER_BLOCK_TARGETS), k, scratch, mask);
  return { ms: ((performance.now() - t0) / picks.size) * total, sampled: picks.size, total };
}

/** Both exact-search kernels on one activity, interleaved; `targets` limits the work at large sizes. */
function compareKernels(engine: Engine, a: Activity, repeats: number, targets: number[] | undefined): KernelRow {
  const net = engine.network;
  const admissibility = orderAdmissibility(net, { descendants: descendantWordsKernel });
  const options = { criterion: "correlation" as const, top: 0, perTarget: 4, minScore: 0.3, admissibility, ...(targets ? { targets } : {}) };
  const wasmOk = searchKernelStatus().loaded || exactSearch(a, { ...options, targets: [] }).stats.kernel === "wasm";
  const times: Record<"js" | "wasm", number[]> = { js: [], wasm: [] };
  let pairs = 0;
  let rescored = 0;
  const kernels: SearchKernel[] = wasmOk ? ["wasm", "js"] : ["js"];
  // Warm both (JIT, wasm tier-up), then alternate, the first kernel rotating.
  for (const kernel of kernels) exactSearch(a, { ...options, kernel });
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < kernels.length; i++) {
      const kernel = kernels[(r + i) % kernels.length]!;
      const t0 = performance.now();
      const result = exactSearch(a, { ...options, kernel });
      times[kernel as "js" | "wasm"].push(performance.now() - t0);
      pairs = result.stats.pairsScored;
      if (kernel === "wasm") rescored = result.stats.rescored ?? 0;
    }
  }
  const rate = (ms: number) => (pairs * a.samples) / (ms / 1000);
  const js = times.js.length > 0 ? median(times.js) : undefined;
  const wasm = times.wasm.length > 0 ? median(times.wasm) : undefined;
  return {
    kind: "exact-search-kernels",
    neurons: net.neurons,
    targets: targets?.length ?? net.neurons - net.inputs,
    samples: a.samples,
    pairsScored: pairs,
    js: js !== undefined ? { ms: js, pairSamplesPerSec: rate(js) } : undefined,
    wasm: wasm !== undefined ? { ms: wasm, pairSamplesPerSec: rate(wasm), rescored } : undefined,
    ...(js !== undefined && wasm !== undefined ? { ratio: js / wasm } : {}),
  };
}

function roundRow(neurons: number, inDegree: number, edges: number, preset: "thesis" | "rigl", search: "exact" | "approximate", reports: RoundReport[], intervalSteps: number, msPerStep: number, batch: number, admissibility: "exact" | "levels" = "exact"): RewireRow {
  const ms = (f: (r: RoundReport) => number) => median(reports.map((r) => 1000 * f(r)));
  const p = (r: RoundReport) => r.phases!;
  const round = ms((r) => r.seconds - p(r).recall);
  const recalls = reports.map((r) => r.recall).filter((x): x is number => x !== undefined);
  const stats = reports.map((r) => r.searchStats).filter((s) => s !== undefined);
  const searchMs = ms((r) => p(r).search);
  const intervalMs = intervalSteps * msPerStep;
  const row: RewireRow = {
    kind: "rewire-round",
    neurons,
    inDegree,
    edges,
    preset,
    search,
    how: "measured",
    batch,
    admissibility,
    rounds: reports.length,
    rewired: Math.round(median(reports.map((r) => r.rewired))),
    ms: { utility: ms((r) => p(r).utility), search: searchMs, repair: ms((r) => p(r).select + p(r).repair), fit: ms((r) => p(r).fit), push: ms((r) => p(r).push), round },
    intervalSteps,
    intervalMs,
    ratio: round / intervalMs,
  };
  if (recalls.length > 0) row.recall = median(recalls);
  if (search === "exact" && stats.length > 0) row.pairSamplesPerSec = median(stats.map((s) => (s.pairsScored * s.samples) / Math.max(s.seconds, 1e-9)));
  return row;
}

/**
 * Runs the rewiring benchmark; `emit` gets every row (printing is the caller's), `note` remarks.
 */
export async function benchRewire(
  symbols: Uint8Array,
  plan: RewireBenchPlan,
  watchdog: Watchdog,
  emit: (row: StepRow | RewireRow | KernelRow) => void,
  note: (text: string) => void,
  progress: (text: string) => void,
): Promise<void> {
  searchKernels(); // loads the filter (Node) so that the status below is final
  const after = searchKernelStatus();
  if (!after.loaded) note(`the exact search runs its plain TypeScript kernel: ${after.reason ?? "WebAssembly filter not loaded"}`);
  for (const neurons of plan.sizes) {
    const label = `${neurons.toLocaleString("en-US")} neurons`;
    // Building the network: O(k·d) (seconds at a million neurons).
    watchdog.arm(1800, `building the ${label} network`);
    progress(`${label}: network…`);
    const work = makeWorkload(symbols, neurons, plan.inDegree, plan.batch, plan.context, plan.seed);
    const net = work.network;
    const edges = net.edges;
    const big = plan.large ? plan.large.includes(neurons) : neurons >= 100000;
    const mid = !big && neurons >= 10000;
    const rounds = big ? 1 : mid ? Math.max(1, Math.min(2, plan.rounds)) : plan.rounds;
    watchdog.arm(1800, `starting the wasm engine at ${label}`);
    progress(`${label}: engine…`);
    const engine = await createEngine("wasm", net, { threads: plan.threads });
    try {
      const engineBytes = (engine as Partial<{ memoryBytes: () => number }>).memoryBytes?.() ?? 0;
      // The rounds' batches: per-sample activity costs 2·K·B·4 bytes of WebAssembly memory.
      const roundBatch = roundBatchThatFits(engineBytes, neurons, plan.batch, plan.searchSamples);
      if (roundBatch === undefined) throw new Error(`${label}: the engine (${(engineBytes / 2 ** 30).toFixed(2)} GiB) leaves no room in wasm32's 4 GiB for the activity of even ${plan.searchSamples} samples`);
      if (roundBatch < plan.batch) {
        note(`${label}: rounds estimate utility and activity on batches of ${roundBatch} samples, not ${plan.batch}: the activity of ${plan.batch} (2·K·B·4 = ${((2 * neurons * plan.batch * 4) / 2 ** 30).toFixed(2)} GiB) beside the engine's ${(engineBytes / 2 ** 30).toFixed(2)} GiB does not fit wasm32's 4 GiB; training steps keep batch ${plan.batch}`);
      }
      const roundBatches = roundBatch === plan.batch ? work.batches : makeBatches(symbols, 4, roundBatch, plan.context, plan.seed + 11);
      // A little training first, so that the activity a round searches is not that of random weights.
      const pre = neurons >= 500000 ? 1 : big ? 2 : mid ? 20 : 200;
      watchdog.arm(1800, `training steps of the wasm engine at ${label}`);
      for (let s = 0; s < pre; s++) engine.step(work.batches[s % work.batches.length]!);
      progress(`${label}: training steps…`);
      const steps = timeSteps(engine, work.batches, neurons);
      emit({
        kind: "training-steps", neurons, inDegree: plan.inDegree, edges, threads: engine.threads, batch: plan.batch, msPerStep: steps.msPerStep,
        edgeSamplesPerSec: (edges * plan.batch) / (steps.msPerStep / 1000), steps: steps.steps, memoryBytes: engineBytes, bytesPerEdge: engineBytes / edges, roundBatch,
      });

      const rng = new Rng(plan.seed + 7);
      let batchCursor = 0;
      const nextBatches = (count: number) => Array.from({ length: count }, () => roundBatches[batchCursor++ % roundBatches.length]!);
      const runRounds = (name: string, config: RewireConfig, count: number, warmUp: boolean, recallEvery: number, admissibility: "exact" | "levels" = "exact"): RoundReport[] => {
        const rewirer = new Rewirer(net, engine, config, rng.fork(), { searchSamples: plan.searchSamples, recallEvery, admissibility });
        const reports: RoundReport[] = [];
        for (let r = 0; r < count + (warmUp ? 1 : 0); r++) {
          progress(`${label}: ${name} ${config.search} round ${r + 1}/${count + (warmUp ? 1 : 0)}…`);
          watchdog.arm(big ? 3600 : 1800, `a ${name} ${config.search} rewiring round at ${label}`);
          const report = rewirer.round(1000 + r, 1_000_000, nextBatches(config.batches));
          if (!warmUp || r > 0) reports.push(report);
          // Train between rounds, as a run would (and so the next round sees moved weights).
          watchdog.arm(1800, `training steps between rounds at ${label}`);
          for (let s = 0; s < (big ? 1 : 10); s++) engine.step(work.batches[s % work.batches.length]!);
        }
        return reports;
      };
      const thesis = (search: "exact" | "approximate"): RewireConfig => ({ ...PRESETS.thesis, search });
      /** The exact search extrapolated from sampled targets, the other phases those of the approximate rounds. */
      const extrapolated = (approxRow: RewireRow, criterion: "correlation" | "gradient", minScore: number | undefined): RewireRow => {
        progress(`${label}: exact ${approxRow.preset} search on sampled targets…`);
        watchdog.arm(1800, `the exact search on sampled targets at ${label}`);
        const a = activityOf(engine, roundBatches[0]!, plan.searchSamples);
        const ex = extrapolatedExactSearchMs(engine, a, big ? 24 : 32, rng, criterion, minScore);
        const ms = { ...approxRow.ms, search: ex.ms };
        ms.round = approxRow.ms.round - approxRow.ms.search + ex.ms;
        note(`${label}: ${approxRow.preset}: exact search extrapolated from ${ex.sampled.toLocaleString("en-US")} sampled targets (blocks of 32 consecutive in the order); the other phases are those of the approximate rounds`);
        const { recall: _recall, ...rest } = approxRow;
        return { ...rest, search: "exact", how: "extrapolated", admissibility: "exact", ms, ratio: ms.round / approxRow.intervalMs, pairSamplesPerSec: ex.pairSamplesPerSec };
      };
      /** A measured approximate round with level admissibility, plus the exact admissibility's passes (extrapolated). */
      const withExactAdmissibility = (levelsRow: RewireRow): RewireRow => {
        progress(`${label}: exact admissibility passes…`);
        watchdog.arm(1800, `the exact admissibility passes at ${label}`);
        const pass = extrapolatedExactAdmissibilityMs(engine, 8, rng);
        note(`${label}: ${levelsRow.preset}: approximate search with exact admissibility = the measured round + ${pass.total.toLocaleString("en-US")} descendant passes (one per 512 targets), extrapolated from ${pass.sampled} sampled passes: ${(pass.ms / 1000).toFixed(1)} s`);
        const ms = { ...levelsRow.ms, search: levelsRow.ms.search + pass.ms, round: levelsRow.ms.round + pass.ms };
        return { ...levelsRow, how: "extrapolated", admissibility: "exact", ms, ratio: ms.round / levelsRow.intervalMs };
      };

      // Thesis preset, exact search (large sizes: extrapolated from sampled targets, below).
      if (!big) emit(roundRow(neurons, plan.inDegree, edges, "thesis", "exact", runRounds("thesis", thesis("exact"), rounds, true, 0), 2048, steps.msPerStep, roundBatch));
      // Thesis preset, approximate search; recall against the exact search where that is affordable.
      // Large sizes: level admissibility measured (the exact one's passes are quadratic), the exact added by extrapolation.
      const admissibility = big ? "levels" : "exact";
      const approx = runRounds("thesis", thesis("approximate"), rounds, !big, big ? 0 : 1, admissibility);
      const approxRow = roundRow(neurons, plan.inDegree, edges, "thesis", "approximate", approx, 2048, steps.msPerStep, roundBatch, admissibility);
      emit(approxRow);
      // The extrapolations are side measurements: a failure there is a note, not the end of the run.
      const tryEmit = (what: string, make: () => RewireRow) => {
        try {
          emit(make());
        } catch (e) {
          note(`${label}: ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      };
      if (big) tryEmit("thesis: the exact admissibility's passes", () => withExactAdmissibility(approxRow));
      if (mid || big) tryEmit("thesis: the exact search on sampled targets", () => extrapolated(approxRow, "correlation", 0.3));
      // RigL: rounds every 100 steps; its ratio is to those 100 steps. At large sizes the exact
      // search over all k² pairs is out of reach: the approximate search runs, the exact is extrapolated.
      if (!big) emit(roundRow(neurons, plan.inDegree, edges, "rigl", "exact", runRounds("rigl", { ...PRESETS.rigl }, rounds, true, 0), 100, steps.msPerStep, roundBatch));
      else {
        const rigl = roundRow(neurons, plan.inDegree, edges, "rigl", "approximate", runRounds("rigl", { ...PRESETS.rigl, search: "approximate" }, rounds, false, 0, "levels"), 100, steps.msPerStep, roundBatch, "levels");
        emit(rigl);
        tryEmit("rigl: the exact admissibility's passes", () => withExactAdmissibility(rigl));
        tryEmit("rigl: the exact search on sampled targets", () => extrapolated(rigl, "gradient", undefined));
      }

      // The exact search's kernels side by side (at 17,000 on 256 sampled targets: the plain kernel is slow).
      if (!big && !plan.quick) {
        progress(`${label}: exact-search kernels…`);
        const a = activityOf(engine, roundBatches[1 % roundBatches.length]!, plan.searchSamples);
        let targets: number[] | undefined;
        if (mid) {
          const H = net.neurons - net.inputs;
          const start = 32 * rng.nextInt(Math.floor(H / 32) - 8);
          targets = Array.from(net.order.subarray(start, start + 256));
        }
        emit(compareKernels(engine, a, mid ? 2 : 5, targets));
      }
    } finally {
      watchdog.disarm();
      await engine.dispose();
    }
  }
}
