/**
 * `experiment recovery` (issue 15 item 5; the test the thesis proposes in §5.1): train a network,
 * delete a few per cent of its edges, and ask each growth criterion which absent edges it would
 * insert. A criterion that finds useful edges should propose the deleted ones again: recall at k,
 * against what a random choice recalls. Two deletions: edges drawn at random (most of them matter
 * little), and the edges of largest |w| (the ones a pruned network keeps: the thesis's "sparsify,
 * then delete" reading).
 *
 * Deleting: the chosen edges' weights are set to 0, so the network computes as without them, and
 * they count as absent. Candidates of a target j: every neuron i ≠ j that is not one of j's kept
 * sources and whose edge i → j closes no cycle in the graph without the deleted edges. Scores over
 * the per-sample activity of a few training batches (as a rewiring round estimates them): |corr|
 * (Def. 4.6, the thesis's criterion), |⟨σ(a_i), δ_j⟩| (the gradient of the absent edge, RigL's), and
 * random. Recall per target at k = m·(deleted in-edges of j), m = 1, 2, 5, 10, averaged over the
 * targets, and globally: the top m·K pairs of all targets against the K deleted edges.
 */
import { createEngine } from "../engine/create.js";
import type { Network } from "../graph/network.js";
import { activityFrom, stackActivity, type Activity } from "../estimate/activity.js";
import { estimationBatches } from "../train/text.js";
import { Rng } from "../util/rng.js";
import { mean, quantile, sd } from "../util/stats.js";
import { bandChart, type BandPoint } from "./charts.js";
import { corpusLabel, recordRuns, type Experiment, type ExperimentContext, type ExperimentOutput } from "./experiment.js";
import type { RunRecord, RunSpec } from "./protocol.js";
import type { Batch } from "../engine/types.js";
import { findImageFolder, readImageSamples } from "../data/files.js";
import { selectSamples } from "../data/samples.js";
import { adam, runTraining } from "../run/index.js";
import { SampleData } from "../train/samples.js";
import { markdownTable, meanSd, writeFigure, writeText } from "./report.js";
import { textProtocol, textSettings } from "./sparsity.js";
import { loadCorpora, runText } from "./text-run.js";
import { writeFileAtomic } from "../io/atomic.js";
import { join } from "node:path";

export const RECOVERY_MULTIPLES = [1, 2, 5, 10];
const DELETIONS = ["random", "largest"] as const;
const CRITERIA = ["correlation", "gradient", "random"] as const;
type Criterion = (typeof CRITERIA)[number];

export interface RecoveryResult {
  steps: number;
  validBits: number;
  /** MNIST: test accuracy of the trained network before deleting. */
  testAccuracy?: number;
  deleted: number;
  targets: number;
  /** Mean candidates per target. */
  candidates: number;
  /** recall[criterion][m] per target (mean over targets) and global, for m in RECOVERY_MULTIPLES. */
  perTarget: Record<Criterion, number[]>;
  global: Record<Criterion, number[]>;
  /** What random choice recalls in expectation, per target and globally. */
  chancePerTarget: number[];
  chanceGlobal: number[];
}

/** Recall of the deleted edges of a trained network under each criterion (see the file comment). */
export function recoveryScores(net: Network, deleted: Int32Array, activity: Activity, rng: Rng): Omit<RecoveryResult, "steps" | "validBits"> {
  const { neurons: k, inputs: n, inDegree: d, sources } = net;
  const gone = new Uint8Array(net.edges);
  for (const e of deleted) gone[e] = 1;
  // Consumers over the kept edges only (for the cycle test).
  const consumers: number[][] = Array.from({ length: k }, () => []);
  for (let p = 0; p < net.edges; p++) if (!gone[p]) consumers[sources[p]!]!.push(n + Math.floor(p / d));
  const byTarget = new Map<number, number[]>();
  for (const e of deleted) {
    const j = n + Math.floor(e / d);
    if (!byTarget.has(j)) byTarget.set(j, []);
    byTarget.get(j)!.push(sources[e]!);
  }
  const S = activity.samples;
  const norms = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let b = 0; b < S; b++) s += activity.outputs[i * S + b]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const perTarget = Object.fromEntries(CRITERIA.map((c) => [c, RECOVERY_MULTIPLES.map(() => 0)])) as Record<Criterion, number[]>;
  const chancePerTarget = RECOVERY_MULTIPLES.map(() => 0);
  const pool: Record<Criterion, { score: number; hit: boolean }[]> = { correlation: [], gradient: [], random: [] };
  let candidateSum = 0;
  let totalCandidates = 0;
  const seen = new Int32Array(k).fill(-1);
  for (const [j, lost] of byTarget) {
    // Descendants of j over kept edges: i → j would close a cycle.
    const stack = [j];
    seen[j] = j;
    while (stack.length) {
      for (const c of consumers[stack.pop()!]!) {
        if (seen[c] === j) continue;
        seen[c] = j;
        stack.push(c);
      }
    }
    const kept = new Set<number>();
    for (let e = 0; e < d; e++) if (!gone[(j - n) * d + e]) kept.add(sources[(j - n) * d + e]!);
    const lostSet = new Set(lost);
    const cand: number[] = [];
    for (let i = 0; i < k; i++) if (i !== j && seen[i] !== j && !kept.has(i)) cand.push(i);
    candidateSum += cand.length;
    totalCandidates += cand.length;
    let ee = 0;
    for (let b = 0; b < S; b++) ee += activity.errors[j * S + b]! ** 2;
    const en = Math.sqrt(ee);
    const scores: Record<Criterion, Float64Array> = { correlation: new Float64Array(cand.length), gradient: new Float64Array(cand.length), random: new Float64Array(cand.length) };
    cand.forEach((i, c) => {
      let dot = 0;
      for (let b = 0; b < S; b++) dot += activity.outputs[i * S + b]! * activity.errors[j * S + b]!;
      scores.gradient[c] = Math.abs(dot);
      scores.correlation[c] = norms[i]! * en > 0 ? Math.abs(dot) / (norms[i]! * en) : 0;
      scores.random[c] = rng.nextFloat();
    });
    for (const crit of CRITERIA) {
      const order = Array.from(cand.keys()).sort((a, b) => scores[crit][b]! - scores[crit][a]! || cand[a]! - cand[b]!);
      RECOVERY_MULTIPLES.forEach((m, mi) => {
        const top = order.slice(0, m * lost.length);
        perTarget[crit][mi]! += top.filter((c) => lostSet.has(cand[c]!)).length / lost.length;
      });
      cand.forEach((i, c) => pool[crit].push({ score: scores[crit][c]!, hit: lostSet.has(i) }));
    }
    RECOVERY_MULTIPLES.forEach((m, mi) => (chancePerTarget[mi]! += Math.min(1, (m * lost.length) / cand.length)));
  }
  const T = byTarget.size;
  const K = deleted.length;
  const global = Object.fromEntries(
    CRITERIA.map((c) => {
      const sorted = pool[c].sort((a, b) => b.score - a.score);
      return [c, RECOVERY_MULTIPLES.map((m) => sorted.slice(0, m * K).filter((x) => x.hit).length / K)];
    }),
  ) as Record<Criterion, number[]>;
  return {
    deleted: K,
    targets: T,
    candidates: candidateSum / T,
    perTarget: Object.fromEntries(CRITERIA.map((c) => [c, perTarget[c].map((x) => x / T)])) as Record<Criterion, number[]>,
    global,
    chancePerTarget: chancePerTarget.map((x) => x / T),
    chanceGlobal: RECOVERY_MULTIPLES.map((m) => Math.min(1, (m * K) / totalCandidates)),
  };
}

/** Delete `fraction` of the edges (at random or the largest |w|) by zeroing them; returns the deleted edges, ascending. */
function deleteEdges(net: Network, fraction: number, deletion: "random" | "largest", rng: Rng): Int32Array {
  const chosen = new Set<number>();
  const count = Math.max(1, Math.round(fraction * net.edges));
  if (deletion === "largest") {
    const byMagnitude = Array.from(net.weights.keys()).sort((a, b) => Math.abs(net.weights[b]!) - Math.abs(net.weights[a]!) || a - b);
    for (const e of byMagnitude.slice(0, count)) chosen.add(e);
  } else {
    while (chosen.size < count) chosen.add(rng.nextInt(net.edges));
  }
  const deleted = Int32Array.from([...chosen].sort((a, b) => a - b));
  for (const e of deleted) net.weights[e] = 0;
  return deleted;
}

/** The deleted network's recall under each criterion, with activity over the given batches. */
async function scoreDeleted(ctx: ExperimentContext, trained: Network, fraction: number, deletion: "random" | "largest", rng: Rng, batches: (rng: Rng) => Batch[]): Promise<Omit<RecoveryResult, "steps" | "validBits">> {
  const net = trained.clone();
  const deleted = deleteEdges(net, fraction, deletion, rng);
  const engine = await createEngine(ctx.engine, net, { ...(ctx.threads ? { threads: ctx.threads } : {}) });
  try {
    const activity = stackActivity(batches(rng.fork()).map((b) => activityFrom(net, b.size, engine.gradients(b, { activity: true }))));
    return recoveryScores(net, deleted, activity, rng.fork());
  } finally {
    await engine.dispose();
  }
}

export const recovery: Experiment = {
  name: "recovery",
  summary: "§5.1: delete a few % of a trained network's edges; how many does each growth criterion find again (recall at k vs random)",
  async run(ctx) {
    const corpora = await loadCorpora(ctx.textPath, [], ctx.quick ? 4 : 20);
    // The project's recipe (Adam 0.005 decayed linearly to 0), a third of its step budget.
    const p = textProtocol(ctx, { steps: 20480, seeds: 3, lr: 0.005, recipe: { lrSchedule: "linear" } }, corpora);
    const d = ctx.inDegree ?? (ctx.quick ? 6 : 29);
    const fraction = 0.05;
    const batches = ctx.quick ? { count: 2, size: 64 } : { count: 4, size: 512 };
    const runs: RunSpec[] = [];
    for (const deletion of DELETIONS) {
      for (let s = 0; s < p.seeds; s++) {
        const seed = ctx.seedBase + s;
        runs.push({ key: `d${d}-${deletion}-seed${seed}`, group: deletion, seed, settings: { ...textSettings(p, d, seed, ctx), deleteFraction: fraction, deletion, batches }, cost: d * p.steps });
      }
    }
    const protocol = { ...p, inDegree: d, deleteFraction: fraction, deletions: DELETIONS, batches, multiples: RECOVERY_MULTIPLES, seedBase: ctx.seedBase };
    const records = await recordRuns<RecoveryResult>(ctx, "recovery", protocol, runs, async (run, rc) => {
      const s = textSettings(p, d, run.seed, ctx);
      const trained = await runText(s, corpora, { checkpoint: rc.checkpoint, onStep: (step, total, loss) => rc.progress((0.9 * step) / total, `${run.key}: step ${step}/${total}, loss ${loss.toFixed(3)}`) });
      rc.saveCurve(trained.losses);
      rc.progress(0.9, `${run.key}: deleting ${(100 * fraction).toFixed(0)} % of the edges and scoring the candidates`);
      const deletion = (run.settings as { deletion: "random" | "largest" }).deletion;
      const scores = await scoreDeleted(ctx, trained.network, fraction, deletion, new Rng(run.seed).fork(), (rng) => estimationBatches(corpora.train, s.context, batches.count, batches.size, rng, "the training split"));
      return { steps: trained.result.steps, validBits: trained.result.validBits, ...scores };
    });
    const setup = (r0: RecoveryResult | undefined) => `Corpus: ${corpusLabel(corpora.name, corpora.symbols, ctx.bundled)}. Network: ${p.neurons} neurons, context ${p.context}, in-degree ${d}, trained ${p.steps} steps (${p.lrSchedule ?? "constant"} learning rate from ${p.lr}); then ${(100 * fraction).toFixed(0)} % of the edges deleted (weights set to 0), either at random or the largest by |w|${r0 ? `: ${r0.deleted} edges, about ${Math.round(r0.candidates)} admissible candidates per neuron` : ""}. Scores over ${batches.count} × ${batches.size} training windows. Seeds ${ctx.seedBase}…${ctx.seedBase + p.seeds - 1}`;
    return reportRecovery("recovery", ctx, protocol, records, runs.length, setup, "Recall of deleted edges by growth criterion (§5.1)");
  },
};

/**
 * The same test on MNIST (issue 15 item 5): a random DAG of 784 inputs, 1,000 hidden neurons and 10
 * outputs (`train --data mnist`'s default shape) at in-degree 29, trained with the text recipe's
 * optimiser (Adam 0.005 decayed linearly to 0) on batches of 128, then 5 % of its edges deleted.
 */
export const recoveryMnist: Experiment = {
  name: "recovery-mnist",
  summary: "§5.1 on MNIST: delete a few % of a trained random-DAG network's edges; recall at k of each growth criterion vs random",
  async run(ctx) {
    const folder = ctx.mnistPath ?? findImageFolder("mnist", "--mnist");
    const [trainAll, test] = await Promise.all([readImageSamples(folder, "train"), readImageSamples(folder, "test")]);
    const cut = Math.round(trainAll.count * 0.9);
    const order = Int32Array.from({ length: trainAll.count }, (_, i) => i);
    const train = selectSamples(trainAll, ctx.quick ? order.subarray(0, 2000) : order.subarray(0, cut));
    const valid = selectSamples(trainAll, ctx.quick ? order.subarray(cut, cut + 500) : order.subarray(cut));
    const p = { hidden: ctx.quick ? 200 : 1000, inDegree: ctx.inDegree ?? (ctx.quick ? 8 : 29), steps: ctx.steps ?? (ctx.quick ? 200 : 4000), batch: 128, lr: 0.005, seeds: ctx.seeds ?? (ctx.quick ? 1 : 3) };
    const fraction = 0.05;
    const batches = ctx.quick ? { count: 2, size: 64 } : { count: 4, size: 128 };
    const runs: RunSpec[] = [];
    for (const deletion of DELETIONS) {
      for (let s = 0; s < p.seeds; s++) {
        const seed = ctx.seedBase + s;
        runs.push({ key: `d${p.inDegree}-${deletion}-seed${seed}`, group: deletion, seed, settings: { ...p, deletion, engine: ctx.engine }, cost: p.steps });
      }
    }
    const protocol = { ...p, data: "mnist", train: train.count, valid: valid.count, deleteFraction: fraction, deletions: DELETIONS, batches, multiples: RECOVERY_MULTIPLES, seedBase: ctx.seedBase };
    const records = await recordRuns<RecoveryResult>(ctx, "recovery-mnist", protocol, runs, async (run, rc) => {
      const r = await runTraining(
        {
          network: { kind: "random-dag", neurons: 784 + p.hidden + 10, inDegree: p.inDegree, inputs: 784, outputs: 10, task: { kind: "classification", classes: 10, inputShape: [28, 28] } },
          batch: p.batch, steps: p.steps, optimizer: adam(p.lr), lrSchedule: { kind: "linear", warmup: 0 }, seed: run.seed, engine: ctx.engine, ...(ctx.threads ? { threads: ctx.threads } : {}),
        },
        { kind: "samples", train, valid, heldOut: { test } },
        { onEvent: (e) => { if (e.type === "step" && e.step % 50 === 0) rc.progress((0.9 * e.step) / p.steps, `${run.key}: step ${e.step}/${p.steps}, loss ${e.smoothedLoss.toFixed(3)}`); } },
      );
      rc.saveCurve(r.losses);
      const deletion = (run.settings as { deletion: "random" | "largest" }).deletion;
      const scores = await scoreDeleted(ctx, r.network, fraction, deletion, new Rng(run.seed).fork(), (rng) => {
        const sampler = new SampleData(train, valid).sampler(rng, batches.size);
        return Array.from({ length: batches.count }, (_, h) => sampler.next(h));
      });
      return { steps: r.steps, validBits: r.valid.bitsPerSymbol, testAccuracy: r.heldOut["test"]!.accuracy, ...scores };
    });
    const setup = (r0: RecoveryResult | undefined) => `Data: MNIST (${train.count.toLocaleString("en")} training images, ${valid.count.toLocaleString("en")} validating; the test set only reported${r0?.testAccuracy !== undefined ? `: ${(100 * mean(records.filter((x) => x.result).map((x) => x.result!.testAccuracy ?? NaN))).toFixed(2)} % accuracy before deleting` : ""}). Network: a random DAG of 784 inputs, ${p.hidden} hidden neurons and 10 outputs, in-degree ${p.inDegree}, trained ${p.steps} steps of ${p.batch} (Adam ${p.lr} decayed linearly to 0); then ${(100 * fraction).toFixed(0)} % of the edges deleted (weights set to 0), at random or the largest by |w|${r0 ? `: ${r0.deleted} edges, about ${Math.round(r0.candidates)} admissible candidates per neuron` : ""}. Scores over ${batches.count} × ${batches.size} training images. Seeds ${ctx.seedBase}…${ctx.seedBase + p.seeds - 1}`;
    return reportRecovery("recovery-mnist", ctx, protocol, records, runs.length, setup, "Recall of deleted edges by growth criterion on MNIST (§5.1)");
  },
};

async function reportRecovery(name: string, ctx: ExperimentContext, protocol: Record<string, unknown>, records: RunRecord<RecoveryResult>[], planned: number, setup: (r0: RecoveryResult | undefined) => string, title: string): Promise<ExperimentOutput> {
  const all = records.filter((r) => r.status === "ok" && r.result);
  const files: string[] = [];
  const points: BandPoint[] = [];
  const rows: (string | number)[][] = [];
  const summary: Record<string, unknown> = {};
  for (const deletion of DELETIONS) {
    const ok = all.filter((r) => r.group === deletion);
    const label = deletion === "random" ? "5 % at random" : "the 5 % of largest |w|";
    const cell = label.replace(/\|/g, "\\|"); // a Markdown table cell
    for (const [scope, key] of [["per target", "perTarget"], ["global", "global"]] as const) {
      for (const c of [...CRITERIA, "chance"] as const) {
        const series = RECOVERY_MULTIPLES.map((_, mi) => ok.map((r) => (c === "chance" ? (key === "perTarget" ? r.result!.chancePerTarget : r.result!.chanceGlobal)[mi]! : r.result![key][c][mi]!)));
        if (ok.length === 0) continue;
        RECOVERY_MULTIPLES.forEach((m, mi) => points.push({ series: c === "chance" ? "random (expected)" : c === "gradient" ? "|⟨σ(a_i), δ_j⟩| (RigL's gradient)" : c === "correlation" ? "|corr| (Def. 4.6)" : "random (drawn)", panel: `deleted: ${label}, ${scope}`, x: m, median: quantile(series[mi]!, 0.5), low: Math.min(...series[mi]!), high: Math.max(...series[mi]!) }));
        rows.push([cell, scope, c, ...series.map((v) => meanSd(100 * mean(v), 100 * sd(v), 1))]);
        summary[`${deletion}.${key}.${c}`] = series.map((v) => mean(v));
      }
    }
  }
  if (all.length > 0) {
    const spec = bandChart(points, { title, x: "k / deleted edges", y: "recall", panels: true, width: 420, height: 200 });
    const fig = await writeFigure(ctx.out, name, spec, ctx.log);
    files.push(fig.svg, ...(fig.png ? [fig.png] : []));
  }
  const md = [
    `## ${title}`,
    "",
    `${setup(all[0]?.result)}; runs recorded: ${all.length} of ${planned}.`,
    "",
    "Recall (%) at k = m × the deleted edges (per target: of each neuron's own deleted in-edges among its top m·k candidates, averaged; global: among the top m·K pairs of all neurons), mean ± sd over seeds:",
    "",
    markdownTable(["deleted", "scope", "criterion", ...RECOVERY_MULTIPLES.map((m) => `m = ${m}`)], rows),
    "",
    ...(all.length ? [`![${name}](${name}.svg)`, "", "The figure: median over seeds, the band from the lowest to the highest seed.", ""] : []),
  ].join("\n");
  files.push(writeText(ctx.out, "summary.md", md));
  const jsonPath = join(ctx.out, "summary.json");
  writeFileAtomic(jsonPath, JSON.stringify({ experiment: name, protocol, summary }, null, 1) + "\n");
  files.push(jsonPath);
  return { runsDone: all.length, runsPlanned: planned, failed: records.filter((r) => r.status === "failed").length, files, summary };
}
