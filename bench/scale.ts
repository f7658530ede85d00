/**
 * `npm run bench -- --neurons N[,N…]`: the summary of a large network's run, one per N, from the rows
 * the two parts measured in the same process: memory per edge (the wasm engine's bytes / edges) and
 * the process's peak RSS, edge-samples per second, time per edge-sample relative to the 1,700-neuron
 * network of the same run, each rewiring round's share of the training interval it follows (thesis:
 * 2048 steps, RigL: 100), and the C probe's figures where it ran (or why it did not). Pure functions
 * over rows; no measuring here.
 */
import { UsageError } from "../src/util/errors.js";
import type { Row } from "./report.js";
import type { KernelRow, RewireRow, StepRow } from "./rewire.js";

/** The network every per-edge ratio of `--neurons` is relative to: the thesis's 1,700 neurons. */
export const BASELINE_NEURONS = 1700;

/** `--neurons` values: comma-separated neuron counts above the baseline, ascending, no repeats (UsageError otherwise). */
export function parseNeurons(text: string, inputs: number, outputs: number): number[] {
  const out: number[] = [];
  for (const raw of text.split(",")) {
    const part = raw.trim().replace(/_/g, "");
    const k = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isSafeInteger(k)) throw new UsageError(`--neurons: "${raw.trim()}" is not a neuron count, e.g. 1000000`);
    if (k <= BASELINE_NEURONS) throw new UsageError(`--neurons: ${k} is not above the ${BASELINE_NEURONS.toLocaleString("en-US")}-neuron baseline, which every --neurons run measures anyway`);
    if (k <= inputs + outputs) throw new UsageError(`--neurons: ${k} neurons leave no room beside ${inputs} inputs and ${outputs} outputs`);
    if (!out.includes(k)) out.push(k);
  }
  return out.sort((a, b) => a - b);
}

/** One round's cost in the summary. */
export interface RoundShare {
  search: "exact" | "approximate";
  how: "measured" | "extrapolated";
  /** The search's admissible sources: exact (§4.5) or the level subset (see RewireRow). */
  admissibility: "exact" | "levels";
  roundMs: number;
  intervalSteps: number;
  intervalMs: number;
  /** round / interval. */
  share: number;
  rewired: number;
}

/** The summary of one `--neurons` size: a line of `--json` output. */
export interface ScaleSummary {
  kind: "scale-summary";
  neurons: number;
  inDegree: number;
  edges: number;
  threads: number;
  /** Samples per training step, and per rewiring round's batch (smaller where the activity would not fit wasm32). */
  batch?: number;
  roundBatch?: number;
  /** The wasm engine's bytes (WebAssembly memory + JS-side maps) and that per edge. */
  memoryBytes?: number;
  bytesPerEdge?: number;
  /** Peak resident set of the bench process over the whole run (the largest size dominates it). */
  peakRssBytes: number;
  msPerStep?: number;
  edgeSamplesPerSec?: number;
  /** Time per edge-sample over that at 1,700 neurons, same engine and threads, this run. */
  perEdgeCostVsBaseline?: number;
  /** Where the step figures come from: the training-step table, or the rewiring part's steps. */
  stepSource?: "engines" | "rewire";
  thesis: RoundShare[];
  rigl: RoundShare[];
  cLimit: { threads: number; msPerStep: number; edgeSamplesPerSec: number; perEdgeCostVsBaseline?: number; wasmOverC?: number; memoryBytesEstimate: number; bytesPerEdgeEstimate: number } | { skipped: string };
}

export interface ScaleInputs {
  large: readonly number[];
  inDegree: number;
  threads: number;
  engineRows: readonly Row[];
  rewireRows: readonly (StepRow | RewireRow | KernelRow)[];
  cSkipped: ReadonlyMap<number, string>;
  /** Whether the C probe was asked for (else its entry says so). */
  cWanted: boolean;
  peakRssBytes: number;
  /** What the C probe allocates at k neurons (external.ts cLimitBytes). */
  cBytes: (neurons: number) => number;
}

/** One summary per `--neurons` size, from the rows of this run. */
export function scaleSummaries(x: ScaleInputs): ScaleSummary[] {
  return x.large.map((neurons): ScaleSummary => {
    const edgesOf = (k: number) => (x.engineRows.find((r) => r.neurons === k) ?? x.rewireRows.find((r): r is StepRow => r.neurons === k && r.kind === "training-steps"))?.edges;
    const engineRow = (engine: "wasm" | "c-limit", k: number) => x.engineRows.find((r) => r.engine === engine && r.threads === x.threads && r.neurons === k && r.inDegree === x.inDegree);
    const stepRow = (k: number) => x.rewireRows.find((r): r is StepRow => r.kind === "training-steps" && r.neurons === k && r.inDegree === x.inDegree);
    const wasm = engineRow("wasm", neurons);
    const wasmBase = engineRow("wasm", BASELINE_NEURONS);
    const steps = stepRow(neurons);
    const stepsBase = stepRow(BASELINE_NEURONS);
    const edges = edgesOf(neurons) ?? 0;
    const out: ScaleSummary = { kind: "scale-summary", neurons, inDegree: x.inDegree, edges, threads: x.threads, peakRssBytes: x.peakRssBytes, thesis: [], rigl: [], cLimit: { skipped: "not run" } };
    // Step figures: the training-step table where it ran (interleaved repeats), else the rewiring part's steps.
    if (wasm) {
      Object.assign(out, { batch: wasm.batch, msPerStep: wasm.msPerStep, edgeSamplesPerSec: wasm.edgeSamplesPerSec, stepSource: "engines" as const });
      if (wasmBase && wasmBase.batch === wasm.batch) out.perEdgeCostVsBaseline = wasmBase.edgeSamplesPerSec / wasm.edgeSamplesPerSec;
    } else if (steps) {
      Object.assign(out, { batch: steps.batch, msPerStep: steps.msPerStep, edgeSamplesPerSec: steps.edgeSamplesPerSec, stepSource: "rewire" as const });
      if (stepsBase && stepsBase.batch === steps.batch) out.perEdgeCostVsBaseline = stepsBase.edgeSamplesPerSec / steps.edgeSamplesPerSec;
    }
    const memory = wasm?.memorySource === "engine" ? wasm.memoryBytes : steps?.memoryBytes;
    if (memory !== undefined && edges > 0) {
      out.memoryBytes = memory;
      out.bytesPerEdge = memory / edges;
    }
    if (steps) out.roundBatch = steps.roundBatch;
    for (const r of x.rewireRows) {
      if (r.kind !== "rewire-round" || r.neurons !== neurons) continue;
      const share: RoundShare = { search: r.search, how: r.how, admissibility: r.admissibility, roundMs: r.ms.round, intervalSteps: r.intervalSteps, intervalMs: r.intervalMs, share: r.ratio, rewired: r.rewired };
      (r.preset === "thesis" ? out.thesis : out.rigl).push(share);
    }
    const c = engineRow("c-limit", neurons);
    const cBase = engineRow("c-limit", BASELINE_NEURONS);
    if (c) {
      const memoryBytesEstimate = x.cBytes(neurons);
      out.cLimit = {
        threads: c.threads,
        msPerStep: c.msPerStep,
        edgeSamplesPerSec: c.edgeSamplesPerSec,
        ...(cBase ? { perEdgeCostVsBaseline: cBase.edgeSamplesPerSec / c.edgeSamplesPerSec } : {}),
        ...(wasm ? { wasmOverC: wasm.edgeSamplesPerSec / c.edgeSamplesPerSec } : {}),
        memoryBytesEstimate,
        bytesPerEdgeEstimate: memoryBytesEstimate / c.edges,
      };
    } else out.cLimit = { skipped: x.cSkipped.get(neurons) ?? (x.cWanted ? "did not run" : "not asked for (--engines, --only)") };
    return out;
  });
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 2 : 1)} %`;
}

/** The readable lines of one summary. */
export function scaleSummaryLines(s: ScaleSummary): string[] {
  const base = BASELINE_NEURONS.toLocaleString("en-US");
  const lines = [`${s.neurons.toLocaleString("en-US")} neurons, d = ${s.inDegree}, ${s.edges.toLocaleString("en-US")} edges · summary (wasm engine × ${s.threads} threads; ratios against ${base} neurons in this run)`];
  const mem: string[] = [];
  if (s.memoryBytes !== undefined && s.bytesPerEdge !== undefined) mem.push(`engine ${gib(s.memoryBytes)} = ${s.bytesPerEdge.toFixed(1)} B/edge`);
  mem.push(`peak RSS of this process ${gib(s.peakRssBytes)} (${(s.peakRssBytes / Math.max(1, s.edges)).toFixed(0)} B/edge, all sizes, rounds included)`);
  if (s.roundBatch !== undefined && s.batch !== undefined && s.roundBatch < s.batch) mem.push(`rounds on batches of ${s.roundBatch} (the activity of ${s.batch} does not fit wasm32)`);
  lines.push(`  memory: ${mem.join(" · ")}`);
  if (s.edgeSamplesPerSec !== undefined && s.msPerStep !== undefined) {
    const vs = s.perEdgeCostVsBaseline !== undefined ? ` · time per edge-sample ${s.perEdgeCostVsBaseline.toFixed(2)}× that at ${base} neurons` : "";
    lines.push(`  training: ${(s.edgeSamplesPerSec / 1e9).toFixed(3)} G edge-samples/s (${seconds(s.msPerStep)} per step, batch ${s.batch}; ${s.stepSource === "engines" ? "training-step table" : "rewiring part's steps"})${vs}`);
  }
  const rounds = (name: string, list: RoundShare[]) => {
    if (list.length === 0) return;
    const parts = list.map((r) => `${r.search}${r.search === "approximate" ? (r.admissibility === "levels" ? ", level admissibility" : ", exact admissibility") : ""}${r.how === "extrapolated" ? " (extrapolated)" : ""} ${seconds(r.roundMs)} = ${percent(r.share)}`);
    lines.push(`  ${name} round, share of its ${list[0]!.intervalSteps} steps (${seconds(list[0]!.intervalMs)}): ${parts.join(" · ")} · ${list[0]!.rewired.toLocaleString("en-US")} edges rewired`);
  };
  rounds("thesis", s.thesis);
  rounds("RigL", s.rigl);
  const c = s.cLimit;
  if ("skipped" in c) lines.push(`  C probe: ${c.skipped}`);
  else {
    const vs = c.perEdgeCostVsBaseline !== undefined ? ` · time per edge-sample ${c.perEdgeCostVsBaseline.toFixed(2)}× its own at ${base} neurons` : "";
    const ratio = c.wasmOverC !== undefined ? ` · wasm/C ${c.wasmOverC.toFixed(2)}` : "";
    lines.push(`  C probe × ${c.threads} threads: ${(c.edgeSamplesPerSec / 1e9).toFixed(3)} G edge-samples/s (${seconds(c.msPerStep)} per step)${vs}${ratio} · memory about ${gib(c.memoryBytesEstimate)} = ${c.bytesPerEdgeEstimate.toFixed(0)} B/edge (from its allocations)`);
  }
  return lines;
}
