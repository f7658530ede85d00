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
import { orderAdmissibility } from "../src/graph/admissibility.js";
import { descendantWordsKernel, type SearchKernel } from "../src/engine/search-kernel.js";
import { exactSearch } from "../src/rewire/exact-search.js";
import { Rng } from "../src/util/rng.js";
import { makeWorkload } from "./engines.js";
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
  msPerStep: number;
  edgeSamplesPerSec: number;
  steps: number;
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
const WIDTHS = [8, 6, 16, 6, 7, 8, 8, 7, 6, 6, 9, 15, 7, 6, 0];

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
    r.how === "extrapolated" ? `${r.search} (extrap.)` : r.search,
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

/** Median ms per step of `engine` over a few timed repeats (after a short warm-up). */
function timeSteps(engine: Engine, batches: Batch[], neurons: number): { msPerStep: number; steps: number } {
  let cursor = 0;
  const step = () => engine.step(batches[cursor++ % batches.length]!);
  const warmStart = performance.now();
  let warm = 0;
  while (warm < 2 || (performance.now() - warmStart < 300 && warm < 200)) {
    step();
    warm++;
  }
  const one = (performance.now() - warmStart) / warm;
  const perRepeat = Math.max(neurons >= 100000 ? 3 : 1, Math.min(500, Math.round(300 / one)));
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
function extrapolatedExactSearchMs(engine: Engine, a: Activity, blocks: number, rng: Rng, criterion: "correlation" | "gradient", minScore: number): { ms: number; sampled: number; pairSamplesPerSec: number } {
  const net = engine.network;
  const H = net.neurons - net.inputs;
  const admissibility = orderAdmissibility(net, { descendants: descendantWordsKernel });
  const starts = new Set<number>();
  while (starts.size < Math.min(blocks, Math.floor(H / 32))) starts.add(32 * rng.nextInt(Math.floor(H / 32)));
  const targets: number[] = [];
  for (const r of starts) for (let q = r; q < r + 32; q++) targets.push(net.order[q]!);
  const options = { criterion, top: 0, perTarget: 4, minScore, admissibility };
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

function roundRow(neurons: number, inDegree: number, edges: number, preset: "thesis" | "rigl", search: "exact" | "approximate", reports: RoundReport[], intervalSteps: number, msPerStep: number): RewireRow {
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
    const work = makeWorkload(symbols, neurons, plan.inDegree, plan.batch, plan.context, plan.seed);
    const net = work.network;
    const edges = net.edges;
    const big = neurons >= 100000;
    const mid = neurons >= 10000;
    const rounds = big ? 1 : mid ? Math.max(1, Math.min(2, plan.rounds)) : plan.rounds;
    watchdog.arm(1800, `the rewiring benchmark at ${label}`);
    progress(`${label}: engine…`);
    const engine = await createEngine("wasm", net, { threads: plan.threads });
    try {
      // A little training first, so that the activity a round searches is not that of random weights.
      const pre = big ? 2 : mid ? 20 : 200;
      for (let s = 0; s < pre; s++) engine.step(work.batches[s % work.batches.length]!);
      progress(`${label}: training steps…`);
      const steps = timeSteps(engine, work.batches, neurons);
      emit({ kind: "training-steps", neurons, inDegree: plan.inDegree, edges, threads: engine.threads, msPerStep: steps.msPerStep, edgeSamplesPerSec: (edges * plan.batch) / (steps.msPerStep / 1000), steps: steps.steps });

      const rng = new Rng(plan.seed + 7);
      let batchCursor = 0;
      const nextBatches = (count: number) => Array.from({ length: count }, () => work.batches[batchCursor++ % work.batches.length]!);
      const runRounds = (name: string, config: RewireConfig, count: number, warmUp: boolean, recallEvery: number): RoundReport[] => {
        const rewirer = new Rewirer(net, engine, config, rng.fork(), { searchSamples: plan.searchSamples, recallEvery });
        const reports: RoundReport[] = [];
        for (let r = 0; r < count + (warmUp ? 1 : 0); r++) {
          progress(`${label}: ${name} ${config.search} round ${r + 1}/${count + (warmUp ? 1 : 0)}…`);
          const report = rewirer.round(1000 + r, 1_000_000, nextBatches(config.batches));
          if (!warmUp || r > 0) reports.push(report);
          // Train between rounds, as a run would (and so the next round sees moved weights).
          for (let s = 0; s < (big ? 1 : 10); s++) engine.step(work.batches[s % work.batches.length]!);
        }
        return reports;
      };
      const thesis = (search: "exact" | "approximate"): RewireConfig => ({ ...PRESETS.thesis, search });

      // Thesis preset, exact search (at 170,000: extrapolated from sampled targets, below).
      if (!big) emit(roundRow(neurons, plan.inDegree, edges, "thesis", "exact", runRounds("thesis", thesis("exact"), rounds, true, 0), 2048, steps.msPerStep));
      // Thesis preset, approximate search; recall against the exact search where that is affordable.
      const approx = runRounds("thesis", thesis("approximate"), rounds, !big, big ? 0 : 1);
      const approxRow = roundRow(neurons, plan.inDegree, edges, "thesis", "approximate", approx, 2048, steps.msPerStep);
      emit(approxRow);
      if (mid || big) {
        progress(`${label}: exact search on sampled targets…`);
        const a = activityOf(engine, work.batches[0]!, plan.searchSamples);
        const ex = extrapolatedExactSearchMs(engine, a, big ? 24 : 32, rng, "correlation", 0.3);
        const ms = { ...approxRow.ms, search: ex.ms };
        ms.round = approxRow.ms.round - approxRow.ms.search + ex.ms;
        const { recall: _recall, ...rest } = approxRow;
        emit({ ...rest, search: "exact", how: "extrapolated", ms, ratio: ms.round / approxRow.intervalMs, pairSamplesPerSec: ex.pairSamplesPerSec });
        note(`${label}: exact search extrapolated from ${ex.sampled.toLocaleString("en-US")} sampled targets (blocks of 32 consecutive in the order); the other phases are those of the approximate rounds`);
      }
      // RigL: rounds every 100 steps; its ratio is to those 100 steps.
      if (!big) emit(roundRow(neurons, plan.inDegree, edges, "rigl", "exact", runRounds("rigl", { ...PRESETS.rigl }, rounds, true, 0), 100, steps.msPerStep));

      // The exact search's kernels side by side (at 17,000 on 256 sampled targets: the plain kernel is slow).
      if (!big && !plan.quick) {
        progress(`${label}: exact-search kernels…`);
        const a = activityOf(engine, work.batches[1]!, plan.searchSamples);
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
