/**
 * `experiment compress` (issue 6, thesis §4.2): compression guided by estimated loss change, measured
 * on held-out text (the test split: the last 5 % of the corpus, never used for training or tuning).
 *
 * (a) Quantisation. Per seed, a network trained at d = 29 (the thesis network); its weights
 *     quantised to 8, 6, 4, 3, 2 bits by utility (eq. 4.5, the `quantize` command's default: the
 *     absolute estimate Σ|Δ·∂L/∂w|, nearest rounding), utility with the second-order estimate, mse and
 *     max, with one scale per network or per neuron; test bits per character of the dequantised
 *     weights, the float baseline, the .safetensors sizes, and how well each loss-change estimate
 *     (signed Σ Δ·g, absolute Σ|Δ·g|, second-order Σ Δ·g + ½hΔ²) ranks the configurations by their
 *     true loss change (Spearman). Gradient and curvature come from training batches only.
 * (b) Pruning. Per seed, a network trained at d = 58, pruned one-shot to d = 29 and 15 by first-order
 *     utility, magnitude and OBD (utilities on training batches), with and without fine-tuning; gradual
 *     pruning 58 → 29 and 58 → 15 during training (compress/gradual.ts, same total steps as training
 *     from scratch, by first-order utility and by magnitude as Zhu & Gupta); networks trained at d = 29 (the network of (a)) and d = 15
 *     from the start with the same steps. A control run rebuilds the d = 58 engine at the steps where
 *     gradual pruning 58 → 29 would prune, without pruning, to measure what resetting Adam's state costs.
 */
import { adam } from "../engine/optimizer.js";
import { availableParallelism } from "node:os";
import { estimationBatches } from "../train/text.js";
import type { GradualPruneBy, GradualPruneConfig } from "../compress/gradual.js";
import { pruneToInDegree } from "../compress/prune.js";
import { estimateLossChange, quantizeNetwork, type LossEstimate, type QuantizeBy, type ScaleMode } from "../compress/quantize.js";
import { quantizedToSafetensors } from "../io/quantized-format.js";
import { meanLoss, measureSensitivity } from "../estimate/sensitivity.js";
import { createEngine } from "../engine/create.js";
import type { Engine } from "../engine/types.js";
import type { Network } from "../graph/network.js";
import { encodeModel } from "../io/model-file.js";
import { estimateUtility } from "../estimate/utility.js";
import { spearman } from "../util/stats.js";
import { evaluateText } from "../train/text.js";
import { trainText } from "../train/trainer.js";
import { Rng } from "../util/rng.js";
import { mean, pairedDifference, sd, type PairedDifference } from "../util/stats.js";
import { corpusLabel, recordRuns, type Experiment, type ExperimentContext, type ExperimentOutput } from "./experiment.js";
import { type RunRecord, type RunSpec } from "./protocol.js";
import { markdownTable, meanSd, writeFigure, writeText } from "./report.js";
import { textProtocol, textSettings, type TextProtocol } from "./sparsity.js";
import { loadCorpora, recipeText, runText, type TextCorpora } from "./text-run.js";

/** The quantisers compared: `by` plus, for utility, the estimate it minimises. */
export const QUANTIZERS: readonly { label: string; by: QuantizeBy; estimate?: LossEstimate }[] = [
  { label: "utility", by: "utility", estimate: "absolute" },
  { label: "utility-2nd", by: "utility", estimate: "second-order" },
  { label: "mse", by: "mse" },
  { label: "max", by: "max" },
];
const SCALES: readonly ScaleMode[] = ["network", "neuron"];
const BITS = [8, 6, 4, 3, 2];
const CRITERIA: readonly GradualPruneBy[] = ["first-order", "magnitude", "obd"];

interface CompressProtocol extends TextProtocol {
  /** In-degree of the quantised network (and the from-scratch baseline), of the pruned-from network, and the pruning targets. */
  quantDegree: number;
  pruneFrom: number;
  pruneTo: number[];
  bits: number[];
  finetuneSteps: number;
  /** Fine-tuning learning rate (the training rate: fine-tuning continues training). */
  finetuneLr: number;
  /** Training-split batches (of `batch` windows) for gradients, curvature and utilities. */
  estimationBatches: number;
  /** optimizer: what a rebuild does with Adam's state ("carry" since issue 12; results before it reset it). */
  gradual: { start: number; end: number; every: number; batches: number; by: GradualPruneBy[]; optimizer: "carry" };
  seedBase: number;
}

export interface QuantPoint {
  bits: number;
  scale: ScaleMode;
  quantizer: string;
  testBits: number;
  /** Test bits/char minus the float network's. */
  testDelta: number;
  /** True loss change on the estimation batches (bits per sample). */
  trueChange: number;
  signed: number;
  absolute: number;
  secondOrder: number;
  /** Bytes of the quantised .safetensors file. */
  bytes: number;
}

interface QuantResult {
  kind: "quantize";
  inDegree: number;
  edges: number;
  steps: number;
  testBits: number;
  validBits: number;
  floatBytes: number;
  estimationLoss: number;
  points: QuantPoint[];
}

interface PruneItem {
  to: number;
  by: GradualPruneBy;
  testPruned: number;
  testTuned: number;
}

interface OneShotResult {
  kind: "oneshot";
  inDegree: number;
  steps: number;
  testBits: number;
  validBits: number;
  items: PruneItem[];
}

interface TrainResult {
  kind: "train";
  inDegree: number;
  steps: number;
  testBits: number;
  validBits: number;
  trainBits: number;
  rebuilds: number;
}

type CompressResult = QuantResult | OneShotResult | TrainResult;

export const compress: Experiment = {
  name: "compress",
  summary: "§4.2: quantisation (utility vs mse vs max, 2–8 bits) and pruning (first-order vs magnitude vs OBD, one-shot vs gradual) on held-out text",
  async run(ctx): Promise<ExperimentOutput> {
    const context = ctx.quick ? 4 : 20;
    const corpora = await loadCorpora(ctx.textPath, [], context);
    const base = textProtocol(ctx, { steps: 6144, seeds: 3 }, corpora);
    const p: CompressProtocol = {
      ...base,
      quantDegree: ctx.quick ? 6 : 29,
      pruneFrom: ctx.quick ? 12 : 58,
      pruneTo: ctx.quick ? [6, 3] : [29, 15],
      bits: BITS,
      finetuneSteps: ctx.quick ? 64 : 1024,
      finetuneLr: base.lr,
      estimationBatches: 8,
      gradual: { start: 0.1, end: 0.6, every: ctx.quick ? 16 : 128, batches: 4, by: ["first-order", "magnitude"], optimizer: "carry" },
      seedBase: ctx.seedBase,
    };
    const runs = planRuns(p, ctx);
    const records = await recordRuns<CompressResult>(ctx, "compress", p as unknown as Record<string, unknown>, runs, (run, rc) => execute(run, p, ctx, corpora, (f, text) => rc.progress(f, text), rc.saveCurve));
    return report(ctx, p, records, runs.length, corpusLabel(corpora.name, corpora.symbols, ctx.bundled));
  },
};

function gradualConfig(p: CompressProtocol, to: number, by: GradualPruneBy, rebuildOnly = false): GradualPruneConfig {
  const { start, end, every, batches } = p.gradual;
  // The rebuild control measures what a rebuild with FRESH Adam state costs, so it resets it.
  return { to, by, start, end, every, batches, ...(rebuildOnly ? { rebuildOnly: true, resetOptimizer: true } : {}) };
}

function planRuns(p: CompressProtocol, ctx: ExperimentContext): RunSpec[] {
  const runs: RunSpec[] = [];
  const [mid, low] = p.pruneTo as [number, number];
  const quantCost = p.bits.length * SCALES.length * QUANTIZERS.length * 0.004 * p.steps * p.quantDegree;
  for (let s = 0; s < p.seeds; s++) {
    const seed = ctx.seedBase + s;
    const add = (key: string, group: string, settings: Record<string, unknown>, cost: number) => runs.push({ key: `${key}-seed${seed}`, group, seed, settings, cost });
    add("quant", "quant", { kind: "quantize", inDegree: p.quantDegree }, p.steps * p.quantDegree + quantCost);
    add("oneshot", "oneshot", { kind: "oneshot", inDegree: p.pruneFrom }, p.steps * p.pruneFrom + CRITERIA.length * p.finetuneSteps * (mid + low));
    add(`scratch-d${low}`, `scratch-d${low}`, { kind: "train", inDegree: low }, p.steps * low);
    for (const by of p.gradual.by) {
      for (const to of p.pruneTo) add(`gradual-${by}-${p.pruneFrom}to${to}`, `gradual-${by}-d${to}`, { kind: "train", inDegree: p.pruneFrom, prune: gradualConfig(p, to, by) }, p.steps * (p.pruneFrom + to) * 0.6);
    }
    add(`rebuild-d${p.pruneFrom}`, "rebuild-control", { kind: "train", inDegree: p.pruneFrom, prune: gradualConfig(p, mid, "first-order", true) }, p.steps * p.pruneFrom);
  }
  return runs;
}

async function execute(
  run: RunSpec, p: CompressProtocol, ctx: ExperimentContext, corpora: TextCorpora,
  progress: (fraction: number, text: string) => void, saveCurve: (losses: ArrayLike<number>) => void,
): Promise<CompressResult> {
  const st = run.settings as { kind: CompressResult["kind"]; inDegree: number; prune?: GradualPruneConfig };
  const settings = textSettings(p, st.inDegree, run.seed, ctx);
  if (st.prune) settings.prune = st.prune;
  const trainShare = st.kind === "train" ? 1 : 0.7;
  const trained = await runText(settings, corpora, { test: true, onStep: (step, total, loss) => { if (step % 32 === 0) progress((trainShare * step) / total, `${run.key}: step ${step}/${total}, loss ${loss.toFixed(3)}`); } });
  saveCurve(trained.losses);
  const r = trained.result;
  const common = { inDegree: trained.network.inDegree, steps: r.steps, testBits: r.testBits!, validBits: r.validBits };
  if (st.kind === "train") return { kind: "train", ...common, trainBits: r.trainBits, rebuilds: r.prunings?.length ?? 0 };
  const rng = new Rng(run.seed * 1009 + 7);
  const batches = estimationBatches(corpora.train, p.context, p.estimationBatches, p.batch, rng.fork(), "the training split");
  const engine = await makeEngine(ctx, trained.network.clone(), p.lr, p.clipNorm);
  try {
    if (st.kind === "quantize") return { kind: "quantize", ...common, edges: trained.network.edges, ...(await quantizeAll(engine, trained.network, batches, p, corpora, (f) => progress(trainShare + (1 - trainShare) * f, `${run.key}: quantising`))) };
    return { kind: "oneshot", ...common, items: await pruneAll(engine, trained.network, batches, p, ctx, corpora, rng, (f, what) => progress(trainShare + (1 - trainShare) * f, `${run.key}: ${what}`)) };
  } finally {
    await engine.dispose();
  }
}

/** Fine-tuning engines: constant rate `lr` (a schedule belongs to the training run), the protocol's clipping. */
function makeEngine(ctx: ExperimentContext, network: Network, lr: number, clipNorm?: number): Promise<Engine> {
  return createEngine(ctx.engine, network, {
    optimizer: adam(lr, { clipNorm }),
    threads: ctx.threads ?? (ctx.engine === "wasm" ? availableParallelism() : 1),
  });
}

async function quantizeAll(
  engine: Engine, net: Network, batches: ReturnType<typeof estimationBatches>, p: CompressProtocol, corpora: TextCorpora, progress: (f: number) => void,
): Promise<Pick<QuantResult, "floatBytes" | "estimationLoss" | "points">> {
  const sens = measureSensitivity(engine, batches, { curvature: "lecun" });
  const floatTest = evaluateText(engine, corpora.test, p.context, p.batch).bitsPerSymbol;
  const floatBytes = (encodeModel(net, "safetensors") as Uint8Array).length;
  const points: QuantPoint[] = [];
  const total = p.bits.length * SCALES.length * QUANTIZERS.length;
  for (const bits of p.bits) {
    for (const scale of SCALES) {
      for (const qz of QUANTIZERS) {
        const q = quantizeNetwork(net, { bits, scale, by: qz.by, ...(qz.estimate ? { estimate: qz.estimate, rounding: "nearest" as const } : {}), gradient: sens.gradient, curvature: sens.curvature! });
        const est = estimateLossChange(net.weights, q.network.weights, sens.gradient, sens.curvature);
        engine.network.weights.set(q.network.weights);
        engine.push();
        const trueChange = meanLoss(engine, batches) - sens.loss;
        const testBits = evaluateText(engine, corpora.test, p.context, p.batch).bitsPerSymbol;
        points.push({ bits, scale, quantizer: qz.label, testBits, testDelta: testBits - floatTest, trueChange, signed: est.signed, absolute: est.absolute, secondOrder: est.secondOrder!, bytes: quantizedToSafetensors(q.network, q).length });
        progress(points.length / total);
      }
    }
  }
  engine.network.weights.set(net.weights);
  engine.push();
  return { floatBytes, estimationLoss: sens.loss, points };
}

async function pruneAll(
  engine: Engine, net: Network, batches: ReturnType<typeof estimationBatches>, p: CompressProtocol, ctx: ExperimentContext, corpora: TextCorpora, rng: Rng,
  progress: (f: number, what: string) => void,
): Promise<PruneItem[]> {
  const items: PruneItem[] = [];
  const total = CRITERIA.length * p.pruneTo.length;
  for (const by of CRITERIA) {
    const utility = estimateUtility(engine, batches, by);
    for (const to of p.pruneTo) {
      progress(items.length / total, `${by} → d = ${to}`);
      const pruned = pruneToInDegree(net, utility, to).network;
      const tuned = await makeEngine(ctx, pruned, p.finetuneLr, p.clipNorm);
      try {
        const testPruned = evaluateText(tuned, corpora.test, p.context, p.batch).bitsPerSymbol;
        await trainText(tuned, corpora.train, corpora.valid, { context: p.context, batch: p.batch, steps: p.finetuneSteps, evalEvery: 0, evalWindows: 0, rng: rng.fork() });
        const testTuned = evaluateText(tuned, corpora.test, p.context, p.batch).bitsPerSymbol;
        items.push({ to, by, testPruned, testTuned });
      } finally {
        await tuned.dispose();
      }
    }
  }
  return items;
}

// ---------------------------------------------------------------- report

const signedFixed = (x: number, digits = 4) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)}` : "–");
const ci = (d: PairedDifference, digits = 4) => (d.n >= 2 ? `${signedFixed(d.mean, digits)} [${d.low.toFixed(digits)}, ${d.high.toFixed(digits)}]` : d.n === 1 ? signedFixed(d.mean, digits) : "–");
const msd = (xs: number[], digits = 4) => meanSd(mean(xs), sd(xs), digits);

async function report(ctx: ExperimentContext, p: CompressProtocol, records: RunRecord<CompressResult>[], planned: number, corpus: string): Promise<ExperimentOutput> {
  const ok = records.filter((r) => r.status === "ok" && r.result);
  const failed = records.length - ok.length;
  const of = <K extends CompressResult["kind"]>(group: string, kind: K) =>
    new Map(ok.filter((r) => r.group === group && r.result!.kind === kind).map((r) => [r.seed, r.result as Extract<CompressResult, { kind: K }>]));
  const quant = of("quant", "quantize");
  const oneshot = of("oneshot", "oneshot");
  const [mid] = p.pruneTo as [number, number];
  const files: string[] = [];
  const md: string[] = [
    "## Compression (§4.2): quantisation and pruning by estimated loss change",
    "",
    `Corpus: ${corpus}; split 90/5/5 % contiguous; every number below is held-out TEST bits per character (the last 5 %, never used for training, tuning or estimation) unless said otherwise. Network: ${p.neurons} neurons, context ${p.context}, batch ${p.batch}, ${recipeText(p.lr, p)}, ${p.steps} training steps; seeds ${p.seedBase}…${p.seedBase + p.seeds - 1}; mean ± sd over seeds. Gradients, curvature (LeCun's OBD diagonal) and utilities: ${p.estimationBatches} random training-split batches of ${p.batch} windows. Runs recorded: ${records.length} of ${planned}${failed ? `, ${failed} failed (diverged)` : ""}.`,
    "",
  ];
  const summary: Record<string, unknown> = {};

  // ---- (a) quantisation
  const seedsQ = [...quant.keys()].sort((a, b) => a - b);
  if (seedsQ.length > 0) {
    const floatTest = seedsQ.map((s) => quant.get(s)!.testBits);
    const point = (s: number, bits: number, scale: ScaleMode, qz: string) => quant.get(s)!.points.find((x) => x.bits === bits && x.scale === scale && x.quantizer === qz)!;
    const rows: (string | number)[][] = [["float (32-bit)", "–", ...p.bits.map(() => msd(floatTest))]];
    const lines: Record<string, unknown>[] = [];
    const cfgSummary: Record<string, unknown> = {};
    for (const scale of SCALES) {
      for (const qz of QUANTIZERS) {
        const cells: string[] = [];
        for (const bits of p.bits) {
          const v = seedsQ.map((s) => point(s, bits, scale, qz.label).testBits);
          const dv = seedsQ.map((s) => point(s, bits, scale, qz.label).testDelta);
          cells.push(`${msd(v)} (${signedFixed(mean(dv))})`);
          lines.push({ bits, testBits: mean(v), low: mean(v) - (sd(v) || 0), high: mean(v) + (sd(v) || 0), series: `${qz.label} · per ${scale}`, quantizer: qz.label, scale: `per ${scale}` });
          cfgSummary[`${qz.label}/${scale}/${bits}`] = { testBits: mean(v), testSd: sd(v), delta: mean(dv), deltaSd: sd(dv) };
        }
        rows.push([qz.label, `per ${scale}`, ...cells]);
      }
    }
    md.push(
      `### (a) Quantising a d = ${p.quantDegree} network`,
      "",
      `Test bits/char (mean ± sd) and, in brackets, the mean change against the same seed's float network. utility = the least estimated loss increase Σ|Δ·∂L/∂w| (the \`quantize\` command's default), utility-2nd = the least Σ Δ·∂L/∂w + ½hΔ²; both round to nearest and choose only the scale. mse = least squared weight error; max = scale by the largest |w|.`,
      "",
      markdownTable(["quantiser", "scale", ...p.bits.map((b) => `${b} bits`)], rows),
      "",
    );
    // Verdicts: utility vs max at ≤ 4 bits; 8-bit cost.
    const vsMax: (string | number)[][] = [];
    const verdictRows: { bits: number; scale: ScaleMode; d: PairedDifference; wins: number }[] = [];
    for (const bits of p.bits.filter((b) => b <= 4)) {
      for (const scale of SCALES) {
        const a = seedsQ.map((s) => point(s, bits, scale, "utility").testBits);
        const b = seedsQ.map((s) => point(s, bits, scale, "max").testBits);
        const c = seedsQ.map((s) => point(s, bits, scale, "mse").testBits);
        const d = pairedDifference(a, b);
        const wins = a.filter((x, i) => x < b[i]!).length;
        verdictRows.push({ bits, scale, d, wins });
        vsMax.push([`${bits} bits, per ${scale}`, ci(d), `${wins} of ${a.length}`, ci(pairedDifference(a, c)), `${a.filter((x, i) => x < c[i]!).length} of ${a.length}`]);
      }
    }
    const eight = QUANTIZERS.flatMap((qz) => SCALES.map((scale) => ({ label: `${qz.label} per ${scale}`, quantizer: qz.label, d: seedsQ.map((s) => point(s, 8, scale, qz.label).testDelta) })));
    // The verdict is about the three quantisers the issue names; utility-2nd is reported beside them.
    const named = eight.filter((e) => e.quantizer !== "utility-2nd");
    const worst8 = named.reduce((a, b) => (mean(b.d) > mean(a.d) ? b : a));
    const best8 = named.reduce((a, b) => (mean(b.d) < mean(a.d) ? b : a));
    const under8 = named.filter((e) => mean(e.d) < 0.01);
    const worst8second = eight.filter((e) => e.quantizer === "utility-2nd").reduce((a, b) => (mean(b.d) > mean(a.d) ? b : a));
    const allWins = verdictRows.filter((v) => v.wins === seedsQ.length).length;
    const meanWins = verdictRows.filter((v) => v.d.mean < 0).length;
    md.push(
      "**utility − max** and **utility − mse** on the same seed at ≤ 4 bits (negative: utility better; paired 95 % t interval):",
      "",
      markdownTable(["setting", "utility − max", "utility better (seeds)", "utility − mse", "utility better than mse (seeds)"], vsMax),
      "",
    );
    // Which estimate predicts the true loss change?
    const rho = (s: number, key: "signed" | "absolute" | "secondOrder", target: "trueChange" | "testDelta") => {
      const pts = quant.get(s)!.points;
      return spearman(pts.map((x) => x[key]), pts.map((x) => x[target]));
    };
    const estRows: string[][] = [];
    const estSummary: Record<string, unknown> = {};
    for (const [key, label] of [["signed", "signed Σ Δ·∂L/∂w (thesis, eq. 4.5)"], ["absolute", "absolute Σ |Δ·∂L/∂w|"], ["secondOrder", "second-order Σ Δ·∂L/∂w + ½hΔ²"]] as const) {
      const t = seedsQ.map((s) => rho(s, key, "trueChange"));
      const h = seedsQ.map((s) => rho(s, key, "testDelta"));
      estRows.push([label, msd(t, 3), msd(h, 3)]);
      estSummary[key] = { spearmanTrue: mean(t), spearmanTest: mean(h) };
    }
    const bestEst = (Object.entries(estSummary) as [string, { spearmanTrue: number }][]).reduce((a, b) => (b[1].spearmanTrue > a[1].spearmanTrue ? b : a))[0];
    md.push(
      `**Which loss-change estimate predicts the true change?** Spearman correlation, over the ${p.bits.length * SCALES.length * QUANTIZERS.length} quantised networks of a seed, between the estimate and the true loss change on the estimation batches, and the test-split change (mean ± sd over seeds):`,
      "",
      markdownTable(["estimate", "ρ with the true change (estimation batches)", "ρ with the test change"], estRows, 3),
      "",
    );
    // File sizes.
    const q0 = quant.get(seedsQ[0]!)!;
    const sizeRows = p.bits.map((bits) => {
      const net = q0.points.find((x) => x.bits === bits && x.scale === "network")!.bytes;
      const neu = q0.points.find((x) => x.bits === bits && x.scale === "neuron")!.bytes;
      const rows = q0.edges / p.quantDegree;
      return [`${bits} bits`, net.toLocaleString("en"), (net / q0.floatBytes).toFixed(3), neu.toLocaleString("en"), (neu / q0.floatBytes).toFixed(3), ((Math.ceil((q0.edges * bits) / 8) + 4 * rows) / (4 * q0.edges)).toFixed(3)];
    });
    md.push(
      `**File sizes** (.safetensors; the float file is ${q0.floatBytes.toLocaleString("en")} bytes for ${q0.edges.toLocaleString("en")} edges: I32 sources, F32 weights and biases; the quantised one stores the sources compactly, the weights as I8 or packed U8, plus F32 scales and biases, as laid out in src/io/quantized-format.ts (src/compress/quantized-file.ts before issue 11) of the version that wrote these results):`,
      "",
      markdownTable(["bits", "per network: bytes", "÷ float", "per neuron: bytes", "÷ float", "weights + per-neuron scales only ÷ F32 weights"], sizeRows),
      "",
    );
    const b8 = q0.points.find((x) => x.bits === 8 && x.scale === "neuron")!.bytes;
    md.push(
      "**Verdict (quantisation).**",
      "",
      `- At ≤ 4 bits utility beats max on mean test bits/char in ${meanWins} of ${verdictRows.length} settings (bits × scale), and on every seed in ${allWins} of them: ${verdictRows.map((v) => `${v.bits} bits per ${v.scale} ${signedFixed(v.d.mean)} (${v.wins}/${seedsQ.length} seeds)`).join("; ")}.`,
      `- 8 bits: ${under8.length === named.length ? "every" : `${under8.length} of ${named.length}`} utility/mse/max configurations cost under 0.01 bits/char${under8.length ? ` (${under8.map((e) => `${e.label} ${signedFixed(mean(e.d))}`).join(", ")})` : ""}${under8.length < named.length ? `; over it: ${named.filter((e) => mean(e.d) >= 0.01).map((e) => `${e.label} ${signedFixed(mean(e.d))}`).join(", ")}` : ""}. Best: ${best8.label} ${signedFixed(mean(best8.d))} ± ${sd(best8.d).toFixed(4)}; worst: ${worst8.label}. utility-2nd: up to ${signedFixed(mean(worst8second.d))} (${worst8second.label}).`,
      `- The 8-bit file (per-neuron scales) is ${(b8 / q0.floatBytes).toFixed(3)} of the float file (${b8 <= q0.floatBytes / 4 ? "at most" : "over"} a quarter): the weights themselves shrink 4×, but every edge also stores its source index (an I32 in the float file), which the quantiser does not touch.`,
      `- The estimate that best ranks the configurations by their true loss change is **${bestEst}** (Spearman above).`,
      "",
    );
    if (lines.length > 0) {
      const lo = Math.min(...floatTest) - 0.02;
      const hi = Math.min(Math.max(...lines.map((l) => l.high as number)), mean(floatTest) + 1.2);
      const floatMean = mean(floatTest);
      for (const l of lines) l["floatBits"] = floatMean;
      const y = { type: "quantitative", title: "test bits/char", scale: { zero: false, domain: [Math.floor(lo * 100) / 100, Math.ceil(hi * 100) / 100], clamp: true } };
      const spec = {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: `Quantised d = ${p.quantDegree} network: test bits/char vs bits per weight (mean ± sd over ${seedsQ.length} seeds; dashed: float)`,
        data: { values: lines },
        facet: { column: { field: "scale", type: "nominal", title: null, sort: ["per network", "per neuron"] } },
        spec: {
          width: 300,
          height: 280,
          layer: [
            { mark: { type: "line", point: true, clip: true }, encoding: { x: { field: "bits", type: "quantitative", title: "bits per weight", scale: { domain: [1.8, 8.2] }, axis: { values: p.bits } }, y: { ...y, field: "testBits" }, color: { field: "quantizer", type: "nominal", title: "quantiser", scale: { domain: QUANTIZERS.map((q) => q.label) } } } },
            { mark: { type: "errorbar", clip: true }, encoding: { x: { field: "bits", type: "quantitative" }, y: { ...y, field: "low" }, y2: { field: "high" }, color: { field: "quantizer", type: "nominal" } } },
            { mark: { type: "rule", strokeDash: [4, 3], color: "black" }, encoding: { y: { ...y, field: "floatBits", aggregate: "mean" } } },
          ],
        },
      };
      const fig = await writeFigure(ctx.out, "compress-quantize", spec, ctx.log);
      files.push(fig.svg, ...(fig.png ? [fig.png] : []));
      md.push(`![quantisation](compress-quantize.svg)`, "", `The dashed black line is the float network (mean over seeds). The y axis is cut at ${hi.toFixed(2)} bits/char; lines that leave the plot continue off it (see the table).`, "");
    }
    summary["quantize"] = { seeds: seedsQ.length, floatTestBits: mean(floatTest), floatTestSd: sd(floatTest), configs: cfgSummary, utilityVsMax: verdictRows.map((v) => ({ bits: v.bits, scale: v.scale, ...v.d, utilityBetterSeeds: v.wins })), eightBitWorst: { config: worst8.label, delta: mean(worst8.d) }, eightBitWorstSecondOrder: { config: worst8second.label, delta: mean(worst8second.d) }, estimates: estSummary, floatBytes: q0.floatBytes, bytes8: b8 };
  }

  // ---- (b) pruning
  const seedsP = [...oneshot.keys()].sort((a, b) => a - b);
  const trainRuns = (group: string) => of(group, "train");
  if (seedsP.length > 0 || p.gradual.by.some((by) => trainRuns(`gradual-${by}-d${mid}`).size > 0)) {
    const rows: (string | number)[][] = [];
    const bars: { method: string; stage: string; mean: number; low: number; high: number; panel: string }[] = [];
    const offScale: string[] = [];
    const bar = (method: string, stage: string, panel: string, v: number[]) => {
      if (v.length) bars.push({ method, stage, mean: mean(v), low: mean(v) - (sd(v) || 0), high: mean(v) + (sd(v) || 0), panel });
    };
    const base58 = seedsP.map((s) => oneshot.get(s)!.testBits);
    rows.push([`trained at d = ${p.pruneFrom} (not pruned)`, msd(base58), "–", `${seedsP.length}`]);
    const rebuildRuns = trainRuns("rebuild-control");
    const rebuildTest = [...rebuildRuns.values()].map((r) => r.testBits);
    if (rebuildTest.length) rows.push([`control: d = ${p.pruneFrom}, engine rebuilt (fresh Adam) at the ${p.pruneFrom} → ${mid} schedule's steps, nothing pruned`, msd(rebuildTest), "–", `${rebuildTest.length}`]);
    const pruneSummary: Record<string, unknown> = { [`d${p.pruneFrom}`]: { testBits: mean(base58), testSd: sd(base58) } };
    const bySeed = new Map<string, Map<number, number>>();
    const put = (key: string, seed: number, v: number) => {
      if (!bySeed.has(key)) bySeed.set(key, new Map());
      bySeed.get(key)!.set(seed, v);
    };
    for (const s of seedsP) put(`d${p.pruneFrom}`, s, oneshot.get(s)!.testBits);
    for (const to of p.pruneTo) {
      const panel = `d = ${to}`;
      for (const by of CRITERIA) {
        const items = seedsP.map((s) => oneshot.get(s)!.items.find((i) => i.to === to && i.by === by)!);
        const pr = items.map((i) => i.testPruned);
        const tu = items.map((i) => i.testTuned);
        seedsP.forEach((s, i) => {
          put(`${by}-${to}`, s, pr[i]!);
          put(`${by}-${to}-ft`, s, tu[i]!);
        });
        rows.push([`one-shot ${by} → ${to}`, msd(pr), msd(tu), `${items.length}`]);
        bar(by, "one-shot", panel, pr);
        bar(by, `one-shot + ${p.finetuneSteps} steps`, panel, tu);
        pruneSummary[`${by}-${to}`] = { pruned: mean(pr), prunedSd: sd(pr), tuned: mean(tu), tunedSd: sd(tu) };
      }
      for (const by of p.gradual.by) {
        const grad = trainRuns(`gradual-${by}-d${to}`);
        const gv = [...grad.values()].map((r) => r.testBits);
        for (const [s, r] of grad) put(`gradual-${by}-${to}`, s, r.testBits);
        rows.push([`gradual ${p.pruneFrom} → ${to} by ${by}, during training`, msd(gv), "–", `${gv.length}`]);
        bar(by, "gradual", panel, gv);
        pruneSummary[`gradual-${by}-${to}`] = { testBits: mean(gv), testSd: sd(gv) };
      }
      const scratch = to === p.quantDegree ? new Map([...quant].map(([s, r]) => [s, r.testBits])) : new Map([...trainRuns(`scratch-d${to}`)].map(([s, r]) => [s, r.testBits]));
      for (const [s, v] of scratch) put(`scratch-${to}`, s, v);
      const sv = [...scratch.values()];
      rows.push([`trained at d = ${to} from the start`, msd(sv), "–", `${sv.length}`]);
      bar("from scratch", "trained", panel, sv);
      pruneSummary[`scratch-${to}`] = { testBits: mean(sv), testSd: sd(sv) };
    }
    const paired = (a: string, b: string) => {
      const A = bySeed.get(a);
      const B = bySeed.get(b);
      if (!A || !B) return pairedDifference([], []);
      const seeds = [...A.keys()].filter((s) => B.has(s)).sort((x, y) => x - y);
      return pairedDifference(seeds.map((s) => A.get(s)!), seeds.map((s) => B.get(s)!));
    };
    md.push(
      `### (b) Pruning a d = ${p.pruneFrom} network to d = ${p.pruneTo.join(" and ")}`,
      "",
      `One-shot: every neuron keeps its d most useful in-edges by the criterion (no bias compensation), then ${p.finetuneSteps} fine-tuning steps (Adam, fresh state, lr ${p.finetuneLr}: training simply continues), so one-shot + fine-tune has ${p.steps} + ${p.finetuneSteps} steps. Gradual: the in-degree follows the cubic schedule of Zhu & Gupta (2017) from step ${Math.round(p.gradual.start * p.steps)} to ${Math.round(p.gradual.end * p.steps)}, checked every ${p.gradual.every} steps, by ${p.gradual.by.join(" or ")} on ${p.gradual.batches} fresh batches, Adam state (m, v of every kept edge, the timestep) carried across each rebuild; ${p.steps} steps in all, as the networks trained from the start.`,
      "",
      markdownTable(["network", "test bits/char (one-shot: right after pruning)", `after ${p.finetuneSteps} fine-tuning steps`, "seeds"], rows),
      "",
    );
    const diffRows: string[][] = [];
    for (const to of p.pruneTo) {
      diffRows.push([`d = ${to}: first-order − magnitude, one-shot`, ci(paired(`first-order-${to}`, `magnitude-${to}`))]);
      diffRows.push([`d = ${to}: first-order − magnitude, + fine-tune`, ci(paired(`first-order-${to}-ft`, `magnitude-${to}-ft`))]);
      diffRows.push([`d = ${to}: first-order − OBD, one-shot`, ci(paired(`first-order-${to}`, `obd-${to}`))]);
      diffRows.push([`d = ${to}: first-order − OBD, + fine-tune`, ci(paired(`first-order-${to}-ft`, `obd-${to}-ft`))]);
      for (const by of p.gradual.by) {
        diffRows.push([`d = ${to}: gradual ${by} − from scratch`, ci(paired(`gradual-${by}-${to}`, `scratch-${to}`))]);
        diffRows.push([`d = ${to}: gradual ${by} − one-shot ${by} + fine-tune`, ci(paired(`gradual-${by}-${to}`, `${by}-${to}-ft`))]);
      }
      diffRows.push([`d = ${to}: one-shot first-order + fine-tune − from scratch`, ci(paired(`first-order-${to}-ft`, `scratch-${to}`))]);
    }
    for (const [s, r] of rebuildRuns) put("rebuild", s, r.testBits);
    const reset = paired("rebuild", `d${p.pruneFrom}`);
    const rebuilds = mean([...rebuildRuns.values()].map((r) => r.rebuilds));
    diffRows.push([`optimiser-state reset: d = ${p.pruneFrom} rebuilt ${Number.isFinite(rebuilds) ? rebuilds.toFixed(0) : "–"}× (fresh Adam) − not rebuilt`, ci(reset)]);
    md.push("Paired differences (same seed; negative: the first is better; 95 % t interval):", "", markdownTable(["comparison", "Δ test bits/char"], diffRows), "");
    const fo = (to: number, ft: boolean) => paired(`first-order-${to}${ft ? "-ft" : ""}`, `magnitude-${to}${ft ? "-ft" : ""}`);
    const g = (to: number, by: GradualPruneBy) => paired(`gradual-${by}-${to}`, `scratch-${to}`);
    const go = (to: number, by: GradualPruneBy) => paired(`gradual-${by}-${to}`, `${by}-${to}-ft`);
    const best = (to: number, ft: boolean) => CRITERIA.map((by) => ({ by, v: mean([...(bySeed.get(`${by}-${to}${ft ? "-ft" : ""}`)?.values() ?? [])]) })).reduce((a, b) => (b.v < a.v ? b : a));
    md.push(
      "**Verdict (pruning).**",
      "",
      ...p.pruneTo.map((to) => `- d = ${to}: first-order utility − magnitude ${signedFixed(fo(to, false).mean)} bits/char right after pruning, ${signedFixed(fo(to, true).mean)} after fine-tuning (${fo(to, true).mean < 0 ? "utility better" : "magnitude better or equal"}); best criterion one-shot: ${best(to, false).by}, after fine-tuning: ${best(to, true).by}; ${p.gradual.by.map((by) => `gradual by ${by} − from scratch ${signedFixed(g(to, by).mean)}, − one-shot ${by} + fine-tune ${signedFixed(go(to, by).mean)}`).join("; ")}.`),
      ...(p.pruneTo.every((to) => fo(to, false).mean > 0)
        ? ["- Why first-order utility prunes so badly here (a reading, not a measurement of this protocol): at Δ = −w the first-order estimate −w·∂L/∂w scales with |w|, while in a trained network ∂L/∂w is small and noisy; the most negative utilities therefore belong to LARGE weights whose gradient happens to point along w, and keeping the highest utilities deletes them. |w| has no sign to be fooled by, and OBD's ½w²h weighs w² by the curvature instead of a noisy slope."]
        : []),
      `- Resetting Adam's state at every rebuild (${Number.isFinite(rebuilds) ? rebuilds.toFixed(0) : "–"} rebuilds of the d = ${p.pruneFrom} network at the steps of the ${p.pruneFrom} → ${mid} schedule, nothing pruned) changes test bits/char by ${ci(reset)}${reset.n >= 2 ? (reset.low > 0 ? `: a small but measurable cost (about ${(reset.mean / Math.max(rebuilds, 1)).toFixed(4)} per rebuild), the most that carrying the state over could recover` : reset.high < 0 ? ": rebuilding even helped" : ": not distinguishable from zero") : ""}.`,
      "",
    );
    if (bars.length > 0) {
      const methods = [...CRITERIA, "from scratch"];
      const stages = ["one-shot", `one-shot + ${p.finetuneSteps} steps`, "gradual", "trained"];
      const top = Math.min(Math.max(...bars.map((b) => b.high)), (base58.length ? mean(base58) : Math.min(...bars.map((b) => b.mean))) + 1.2);
      const floor = Math.min(...bars.map((b) => b.low), ...(base58.length ? [mean(base58)] : []));
      const y = { type: "quantitative", title: "test bits/char", scale: { zero: false, domain: [Math.floor(floor * 20) / 20 - 0.05, Math.ceil(top * 20) / 20], clamp: true } };
      offScale.push(...bars.filter((b) => b.mean > top).map((b) => `${b.method} (${b.stage}, ${b.panel}) ${b.mean.toFixed(2)}`));
      const spec = {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: `Pruning a d = ${p.pruneFrom} network: test bits/char (mean ± sd over seeds; dashed: d = ${p.pruneFrom} unpruned)`,
        data: { values: bars.map((b) => ({ ...b, unpruned: mean(base58) })) },
        facet: { column: { field: "panel", type: "nominal", title: null, sort: p.pruneTo.map((t) => `d = ${t}`) } },
        spec: {
          width: 300,
          height: 260,
          layer: [
            { mark: { type: "point", filled: true, size: 70, clip: true }, encoding: { x: { field: "method", type: "nominal", title: null, sort: methods, axis: { labelAngle: -30 } }, xOffset: { field: "stage", sort: stages }, y: { ...y, field: "mean" }, color: { field: "stage", type: "nominal", title: null, sort: stages, legend: { labelLimit: 400 } } } },
            { mark: { type: "errorbar", clip: true }, encoding: { x: { field: "method", type: "nominal", sort: methods }, xOffset: { field: "stage", sort: stages }, y: { ...y, field: "low" }, y2: { field: "high" }, color: { field: "stage", type: "nominal", sort: stages } } },
            ...(base58.length ? [{ mark: { type: "rule", strokeDash: [4, 3], color: "black" }, encoding: { y: { ...y, field: "unpruned", aggregate: "mean" } } }] : []),
          ],
        },
      };
      const fig = await writeFigure(ctx.out, "compress-prune", spec, ctx.log);
      files.push(fig.svg, ...(fig.png ? [fig.png] : []));
      md.push(`![pruning](compress-prune.svg)`, "", offScale.length ? `Off the plot (above ${top.toFixed(2)} bits/char): ${offScale.join("; ")}.` : "", "");
    }
    summary["prune"] = { seeds: seedsP.length, configs: pruneSummary, optimizerReset: reset, firstOrderMinusMagnitude: Object.fromEntries(p.pruneTo.map((to) => [to, { oneShot: fo(to, false), tuned: fo(to, true) }])), gradualMinusScratch: Object.fromEntries(p.pruneTo.map((to) => [to, Object.fromEntries(p.gradual.by.map((by) => [by, g(to, by)]))])) };
  }
  files.push(writeText(ctx.out, "summary.md", md.join("\n")));
  files.push(writeText(ctx.out, "summary.json", JSON.stringify({ experiment: "compress", corpus, protocol: p, runsDone: records.length, runsPlanned: planned, failed, ...summary }, null, 1)));
  return { runsDone: records.length, runsPlanned: planned, failed, files, summary };
}
