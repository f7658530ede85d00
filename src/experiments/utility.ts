/**
 * `experiment utility` (thesis §4.1, Fig. 4.2): how well do cheap heuristics track the true utility of
 * an edge (Def. 4.1: the rise of the loss when the edge is deleted)?
 *
 *  1. MNIST: 784 inputs, 784 ReLU hidden neurons each connected to every input, 10 outputs each
 *     connected to every hidden neuron (in-degree 784 everywhere: two fully connected layers, built
 *     with Network.fromArrays, He initialisation N(0, 2/784), zero biases). Adam on the first 55,000
 *     training images, early stopping on the last 5,000 (the best epoch's parameters are kept), then,
 *     for 750 weights drawn uniformly per layer, the true utility on the 10,000 MNIST test images
 *     (the thesis: "we then evaluate utility on the test set") against |w|, the first-order estimate
 *     −w·∂L/∂w (eq. 4.3) and optimal brain damage ½w²·∂²L/∂w² (LeCun's diagonal second-derivative
 *     pass, as in LeCun, Denker & Solla 1990). Everything on MNIST is computed in float64 on the
 *     reference kernels (the true utility by the incremental path of estimate/true-utility.ts).
 *  2. The same study on a trained character network (the thesis network: sparse, non-layered), with
 *     the edges grouped by where they sit in the DAG: leaving an input neuron, between two hidden
 *     neurons, and entering an output. The true utility runs on the engine (float32 forward, float64
 *     loss sums; one forward per edge), checked against the float64 reference on a subset.
 *
 * Per-edge values are stored in runs.jsonl, so `--report` rebuilds the figures and tables.
 */
import { adam } from "../engine/optimizer.js";
import { availableParallelism } from "node:os";
import { loadMnist, type MnistSet } from "../data/files.js";
import { WindowSampler } from "../data/windows.js";
import { createEngine } from "../engine/create.js";
import type { Batch, Engine } from "../engine/types.js";
import { Network } from "../graph/network.js";
import { estimateUtilityDetailed, sampleEdges } from "../estimate/utility.js";
import { spearman } from "../util/stats.js";
import { TextBatch } from "../train/text.js";
import { NumericError, UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { mean, pearson, sd } from "../util/stats.js";
import { corpusLabel, recordRuns, type Experiment, type ExperimentContext, type ExperimentOutput } from "./experiment.js";
import { type RunContext, type RunRecord, type RunSpec } from "./protocol.js";
import { markdownTable, meanSd, scatterChart, writeFigure, writeText } from "./report.js";
import { loadCorpora, runText, type TextCorpora } from "./text-run.js";

// ---- protocol ----

export interface MnistProtocol {
  /** Average pooling factor of the 28×28 images (1 = all 784 pixels; 2 = 14×14 for --quick). */
  pool: number;
  inputs: number;
  hidden: number;
  outputs: number;
  /** = inputs = hidden: every neuron sees the whole previous layer. */
  inDegree: number;
  /** Training images: the first `train` of the 60,000; validation: the last `valid`. */
  train: number;
  valid: number;
  /** Utilities are measured on the first `evalImages` MNIST test images. */
  evalImages: number;
  batch: number;
  lr: number;
  maxEpochs: number;
  /** Stop after this many epochs without a new best validation loss. */
  patience: number;
  edgesPerLayer: number;
}

export interface CharProtocol {
  neurons: number;
  context: number;
  inDegree: number;
  batch: number;
  lr: number;
  steps: number;
  /** Validation windows (drawn uniformly with the run's seed) the utilities are measured on. */
  evalWindows: number;
  edgesPerGroup: number;
  /** Edges whose true utility is recomputed in float64 to check the engine's float32 forward. */
  checkEdges: number;
  corpus: string;
  corpusSymbols: number;
}

export type UtilityTask = "mnist" | "text";
export const UTILITY_TASKS: readonly UtilityTask[] = ["mnist", "text"];

export function mnistProtocol(quick: boolean): MnistProtocol {
  return quick
    ? { pool: 2, inputs: 196, hidden: 196, outputs: 10, inDegree: 196, train: 5000, valid: 1000, evalImages: 1000, batch: 64, lr: 0.001, maxEpochs: 6, patience: 2, edgesPerLayer: 100 }
    : { pool: 1, inputs: 784, hidden: 784, outputs: 10, inDegree: 784, train: 55000, valid: 5000, evalImages: 10000, batch: 128, lr: 0.001, maxEpochs: 30, patience: 3, edgesPerLayer: 750 };
}

export function charProtocol(ctx: ExperimentContext, corpus: { name: string; symbols: number }): CharProtocol {
  const base = ctx.quick
    ? { neurons: 260, context: 4, inDegree: 6, batch: 64, lr: 0.01, steps: 384, evalWindows: 2000, edgesPerGroup: 100, checkEdges: 20 }
    : { neurons: 1700, context: 20, inDegree: 29, batch: 512, lr: 0.01, steps: 10000, evalWindows: 20000, edgesPerGroup: 750, checkEdges: 40 };
  return { ...base, steps: ctx.steps ?? base.steps, corpus: corpus.name, corpusSymbols: corpus.symbols };
}

// ---- results ----

/**
 * The thesis's three heuristics (Fig. 4.2), plus both Taylor terms of eq. 4.2 together
 * ("secondOrder" = first-order + OBD, derived from the stored values, not stored itself).
 */
export const HEURISTICS = ["magnitude", "firstOrder", "obd", "secondOrder"] as const;
export type Heuristic = (typeof HEURISTICS)[number];
export const HEURISTIC_LABEL: Record<Heuristic, string> = {
  magnitude: "absolute weight |w|",
  firstOrder: "first-order −w·∂L/∂w",
  obd: "OBD ½w²·∂²L/∂w²",
  secondOrder: "both terms −w·∂L/∂w + ½w²·∂²L/∂w²",
};

export function heuristicValues(g: EdgeGroup, h: Heuristic): number[] {
  return h === "secondOrder" ? g.firstOrder.map((f, i) => f + g.obd[i]!) : g[h];
}

/** The sampled edges of one layer (MNIST) or group (character network), parallel arrays. */
export interface EdgeGroup {
  name: string;
  /** Edges in the layer/group (the population the sample is drawn from). */
  population: number;
  edge: number[];
  source: number[];
  target: number[];
  weight: number[];
  /** Def. 4.1, bits per sample: loss without the edge − loss with it. */
  trueUtility: number[];
  magnitude: number[];
  firstOrder: number[];
  obd: number[];
}

export interface Correlation {
  spearman: number;
  pearson: number;
  /** Spearman of |heuristic| with |true utility|: how well the size of the effect is ranked, sign aside. */
  spearmanAbs: number;
}

export interface UtilityRunResult {
  task: UtilityTask;
  /** What the utilities were measured on. */
  evalSet: string;
  evalSamples: number;
  /** L_T(w) on the evaluation set, bits per sample. */
  evalLoss: number;
  evalAccuracy: number;
  training: Record<string, unknown>;
  groups: EdgeGroup[];
  correlations: Record<string, Record<Heuristic, Correlation>>;
  /** Character network: engine (float32) true utility vs the float64 reference on a subset. */
  trueCheck?: { edges: number; maxAbsDiff: number; maxTrue: number; spearman: number };
  trainSeconds: number;
  utilitySeconds: number;
}

const SIG = 6;
const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(SIG)) : x);

function correlations(g: EdgeGroup): Record<Heuristic, Correlation> {
  const out = {} as Record<Heuristic, Correlation>;
  const absTrue = g.trueUtility.map(Math.abs);
  for (const h of HEURISTICS) {
    const v = heuristicValues(g, h);
    out[h] = { spearman: spearman(v, g.trueUtility), pearson: pearson(v, g.trueUtility), spearmanAbs: spearman(v.map(Math.abs), absTrue) };
  }
  return out;
}

/** Evaluate heuristics and true utility on the sampled edges of every group. */
function fillGroups(net: Network, groups: { name: string; population: number; edges: Int32Array }[], values: { trueUtility: Float32Array; firstOrder: Float32Array; obd: Float32Array }): EdgeGroup[] {
  const d = net.inDegree;
  return groups.map((g) => {
    const pick = (a: Float32Array | Int32Array) => Array.from(g.edges, (e) => round(a[e]!));
    return {
      name: g.name,
      population: g.population,
      edge: Array.from(g.edges),
      source: Array.from(g.edges, (e) => net.sources[e]!),
      target: Array.from(g.edges, (e) => net.inputs + Math.floor(e / d)),
      weight: pick(net.weights),
      trueUtility: pick(values.trueUtility),
      magnitude: Array.from(g.edges, (e) => round(Math.abs(net.weights[e]!))),
      firstOrder: pick(values.firstOrder),
      obd: pick(values.obd),
    };
  });
}

function concatEdges(groups: { edges: Int32Array }[]): Int32Array {
  const all = new Int32Array(groups.reduce((s, g) => s + g.edges.length, 0));
  let at = 0;
  for (const g of groups) {
    all.set(g.edges, at);
    at += g.edges.length;
  }
  return all;
}

// ---- MNIST ----

export interface MnistData {
  inputs: number;
  train: { images: Float32Array; labels: Uint8Array; count: number };
  test: { images: Float32Array; labels: Uint8Array; count: number };
}

/** Average-pool each rows×cols image by `factor` (pixels stay in [0, 1]). */
function pooled(set: MnistSet, factor: number): Float32Array {
  if (factor === 1) return set.images;
  const r2 = Math.floor(set.rows / factor);
  const c2 = Math.floor(set.cols / factor);
  const out = new Float32Array(set.count * r2 * c2);
  const scale = 1 / (factor * factor);
  for (let i = 0; i < set.count; i++) {
    const src = i * set.rows * set.cols;
    const dst = i * r2 * c2;
    for (let r = 0; r < r2; r++) {
      for (let c = 0; c < c2; c++) {
        let s = 0;
        for (let a = 0; a < factor; a++) for (let b = 0; b < factor; b++) s += set.images[src + (r * factor + a) * set.cols + c * factor + b]!;
        out[dst + r * c2 + c] = s * scale;
      }
    }
  }
  return out;
}

export async function loadMnistData(dir: string, p: MnistProtocol): Promise<MnistData> {
  const [train, test] = await Promise.all([loadMnist(dir, "train"), loadMnist(dir, "test")]);
  if (train.count < p.train + p.valid) throw new UsageError(`${dir}: ${train.count} training images, fewer than ${p.train} + ${p.valid}`);
  if (test.count < p.evalImages) throw new UsageError(`${dir}: ${test.count} test images, fewer than ${p.evalImages}`);
  const inputs = (train.rows / p.pool) * (train.cols / p.pool);
  if (inputs !== p.inputs) throw new UsageError(`${dir}: images of ${train.rows}×${train.cols} pooled by ${p.pool} give ${inputs} inputs, not ${p.inputs}`);
  return {
    inputs,
    train: { images: pooled(train, p.pool), labels: train.labels, count: train.count },
    test: { images: pooled(test, p.pool), labels: test.labels, count: test.count },
  };
}

/** A dense batch (neuron-major values[i·B + b]) of the images idx[from .. from+count). */
function imageBatch(set: MnistData["train"], n: number, idx: ArrayLike<number>, from: number, count: number): Batch {
  const values = new Float32Array(n * count);
  const classes = new Int32Array(count);
  for (let b = 0; b < count; b++) {
    const i = idx[from + b]!;
    const base = i * n;
    for (let p = 0; p < n; p++) values[p * count + b] = set.images[base + p]!;
    classes[b] = set.labels[i]!;
  }
  return { size: count, inputs: { kind: "dense", values }, targets: { kind: "class", classes } };
}

function fixedBatches(set: MnistData["train"], n: number, first: number, count: number, size: number): Batch[] {
  const idx = Int32Array.from({ length: count }, (_, i) => first + i);
  const out: Batch[] = [];
  for (let from = 0; from < count; from += size) out.push(imageBatch(set, n, idx, from, Math.min(size, count - from)));
  return out;
}

/** Two fully connected layers as a fixed-in-degree network: inputs → hidden (ReLU) → outputs. */
export function layeredNetwork(p: MnistProtocol, rng: Rng): Network {
  const { inputs: n, hidden: h, outputs: m, inDegree: d } = p;
  if (d !== n || d !== h) throw new UsageError(`a fully connected 2-layer network needs inputs = hidden = in-degree, got ${n}, ${h}, ${d}`);
  const k = n + h + m;
  const sources = new Int32Array((h + m) * d);
  const weights = new Float32Array((h + m) * d);
  const std = Math.sqrt(2 / d); // He: N(0, 2/fan-in)
  for (let j = 0; j < h; j++) for (let e = 0; e < d; e++) sources[j * d + e] = e;
  for (let o = 0; o < m; o++) for (let e = 0; e < d; e++) sources[(h + o) * d + e] = n + e;
  for (let e = 0; e < weights.length; e++) weights[e] = std * rng.nextNormal();
  return Network.fromArrays({ neurons: k, inputs: n, outputs: m, inDegree: d, sources, weights, biases: new Float32Array(k), task: { kind: "classification", classes: m, inputShape: [Math.sqrt(n), Math.sqrt(n)] } });
}

function evaluateBatches(engine: Engine, batches: readonly Batch[]): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (const b of batches) {
    const r = engine.evaluate(b);
    lossSum += r.lossSum;
    correct += r.correct;
    count += r.count;
  }
  return { loss: lossSum / count, accuracy: correct / count };
}

async function runMnist(p: MnistProtocol, seed: number, data: MnistData, ctx: ExperimentContext, rc: RunContext): Promise<UtilityRunResult> {
  const rng = new Rng(seed);
  const net = layeredNetwork(p, rng.fork());
  const orderRng = rng.fork();
  const edgeRng = rng.fork();
  const n = p.inputs;
  const threads = ctx.threads ?? (ctx.engine === "wasm" ? availableParallelism() : 1);
  const engine = await createEngine(ctx.engine, net, { optimizer: adam(p.lr), threads });
  const started = performance.now();
  const history: { epoch: number; trainLoss: number; validLoss: number; validAccuracy: number }[] = [];
  let best = { epoch: 0, loss: Infinity, accuracy: NaN, weights: new Float32Array(0), biases: new Float32Array(0) };
  let test: { loss: number; accuracy: number };
  try {
    const validBatches = fixedBatches(data.train, n, data.train.count - p.valid, p.valid, 1000);
    const perm = Int32Array.from({ length: p.train }, (_, i) => i);
    const stepsPerEpoch = Math.ceil(p.train / p.batch);
    let sinceBest = 0;
    for (let epoch = 1; epoch <= p.maxEpochs; epoch++) {
      for (let i = perm.length - 1; i > 0; i--) {
        const j = orderRng.nextInt(i + 1);
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      let lossSum = 0;
      let steps = 0;
      for (let from = 0; from < p.train; from += p.batch) {
        const loss = engine.step(imageBatch(data.train, n, perm, from, Math.min(p.batch, p.train - from)));
        if (!Number.isFinite(loss)) throw new NumericError(`MNIST training loss became ${loss} in epoch ${epoch}`, "lower the learning rate");
        lossSum += loss;
        steps++;
        if (steps % 20 === 0) rc.progress((0.7 * (epoch - 1 + steps / stepsPerEpoch)) / p.maxEpochs, `MNIST seed ${seed}: epoch ${epoch}, step ${steps}/${stepsPerEpoch}, loss ${(lossSum / steps).toFixed(4)}`);
      }
      const v = evaluateBatches(engine, validBatches);
      if (!Number.isFinite(v.loss)) throw new NumericError(`MNIST validation loss became ${v.loss} in epoch ${epoch}`, "lower the learning rate");
      history.push({ epoch, trainLoss: round(lossSum / steps), validLoss: round(v.loss), validAccuracy: round(v.accuracy) });
      ctx.log(`MNIST seed ${seed}: epoch ${epoch}, train loss ${(lossSum / steps).toFixed(4)}, validation loss ${v.loss.toFixed(4)} bits, accuracy ${(100 * v.accuracy).toFixed(2)} %`);
      if (v.loss < best.loss) {
        engine.pull();
        best = { epoch, loss: v.loss, accuracy: v.accuracy, weights: net.weights.slice(), biases: net.biases.slice() };
        sinceBest = 0;
      } else if (++sinceBest >= p.patience) break;
    }
    // Keep the best epoch's parameters (early stopping).
    net.weights.set(best.weights);
    net.biases.set(best.biases);
    engine.push();
    test = evaluateBatches(engine, fixedBatches(data.test, n, 0, p.evalImages, 1000));
  } finally {
    await engine.dispose();
  }
  const trainSeconds = (performance.now() - started) / 1000;

  // Utilities on the evaluation set, all in float64 on the reference kernels.
  const u0 = performance.now();
  const d = p.inDegree;
  const groups = [
    { name: "layer 1 (input → hidden)", population: p.hidden * d, edges: sampleEdges(p.hidden * d, p.edgesPerLayer, edgeRng) },
    { name: "layer 2 (hidden → output)", population: p.outputs * d, edges: sampleEdges(p.outputs * d, p.edgesPerLayer, edgeRng).map((e) => e + p.hidden * d) },
  ];
  const edges = concatEdges(groups);
  const evalBatches = fixedBatches(data.test, n, 0, p.evalImages, 1000);
  rc.progress(0.7, `MNIST seed ${seed}: true utility of ${edges.length} edges`);
  const tru = estimateUtilityDetailed(net, evalBatches, "true", { edges, onProgress: (done, total) => rc.progress(0.7 + (0.2 * done) / total, `MNIST seed ${seed}: true utility ${done}/${total} edges`) });
  rc.progress(0.9, `MNIST seed ${seed}: first-order`);
  const fo = estimateUtilityDetailed(net, evalBatches, "first-order", { edges });
  rc.progress(0.95, `MNIST seed ${seed}: OBD`);
  const obd = estimateUtilityDetailed(net, evalBatches, "obd", { edges, hessian: "lecun" });
  const filled = fillGroups(net, groups, { trueUtility: tru.utility, firstOrder: fo.utility, obd: obd.utility });
  const utilitySeconds = (performance.now() - u0) / 1000;
  return {
    task: "mnist",
    evalSet: `first ${p.evalImages.toLocaleString("en")} MNIST test images`,
    evalSamples: tru.samples,
    evalLoss: round(tru.loss),
    evalAccuracy: round(test.accuracy),
    training: {
      epochs: history.length,
      bestEpoch: best.epoch,
      bestValidLoss: round(best.loss),
      bestValidAccuracy: round(best.accuracy),
      testLossFloat32: round(test.loss),
      testAccuracy: round(test.accuracy),
      history,
    },
    groups: filled,
    correlations: Object.fromEntries(filled.map((g) => [g.name, correlations(g)])),
    trainSeconds: round(trainSeconds),
    utilitySeconds: round(utilitySeconds),
  };
}

// ---- character network ----

async function runChar(p: CharProtocol, seed: number, corpora: TextCorpora, ctx: ExperimentContext, rc: RunContext): Promise<UtilityRunResult> {
  const started = performance.now();
  const trained = await runText(
    { neurons: p.neurons, inDegree: p.inDegree, context: p.context, batch: p.batch, steps: p.steps, lr: p.lr, seed, engine: ctx.engine, ...(ctx.threads ? { threads: ctx.threads } : {}) },
    corpora,
    { onStep: (step, total, loss) => rc.progress((0.4 * step) / total, `char net seed ${seed}: step ${step}/${total}, loss ${loss.toFixed(3)}`) },
  );
  const trainSeconds = (performance.now() - started) / 1000;
  const net = trained.network;
  const { neurons: k, inputs: n, outputs: m, inDegree: d } = net;
  // Groups of the DAG: edges leaving an input, edges between hidden neurons, edges entering an output.
  const lists: number[][] = [[], [], []];
  for (let e = 0; e < net.edges; e++) {
    const target = n + Math.floor(e / d);
    const source = net.sources[e]!;
    lists[target >= k - m ? 2 : source < n ? 0 : 1]!.push(e);
  }
  const names = ["input → hidden", "hidden → hidden", "→ output (any source)"];
  // A stream of its own (runText draws from Rng(seed)); splitmix seeding makes it unrelated.
  const rng = new Rng((seed ^ 0x75711e7) >>> 0);
  const edgeRng = new Rng(rng.nextUint32());
  const windowRng = new Rng(rng.nextUint32());
  const groups = lists.map((list, i) => ({ name: names[i]!, population: list.length, edges: Int32Array.from(sampleEdges(list.length, p.edgesPerGroup, edgeRng), (t) => list[t]!).sort() }));
  const edges = concatEdges(groups);
  const sampler = new WindowSampler(corpora.valid, p.context, windowRng);
  const batches: Batch[] = [];
  for (let left = p.evalWindows; left > 0; left -= 1000) {
    const holder = new TextBatch(Math.min(1000, left), p.context);
    batches.push(holder.sample(sampler));
  }
  const u0 = performance.now();
  const threads = ctx.threads ?? (ctx.engine === "wasm" ? availableParallelism() : 1);
  const engine = await createEngine(ctx.engine, net, { threads });
  let tru;
  let accuracy: number;
  try {
    accuracy = evaluateBatches(engine, batches).accuracy;
    tru = estimateUtilityDetailed(engine, batches, "true", { edges, onProgress: (done, total) => rc.progress(0.4 + (0.45 * done) / total, `char net seed ${seed}: true utility ${done}/${total} edges`) });
  } finally {
    await engine.dispose();
  }
  // Check the engine's float32 forward against the float64 reference on a few edges.
  rc.progress(0.85, `char net seed ${seed}: float64 check`);
  const check = sampleEdges(edges.length, p.checkEdges, new Rng(seed + 17)).map((t) => edges[t]!);
  const ref = estimateUtilityDetailed(net, batches, "true", { edges: check });
  let maxAbsDiff = 0;
  let maxTrue = 0;
  for (const e of check) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref.utility[e]! - tru.utility[e]!));
    maxTrue = Math.max(maxTrue, Math.abs(ref.utility[e]!));
  }
  const checkSpearman = spearman(Array.from(check, (e) => ref.utility[e]!), Array.from(check, (e) => tru.utility[e]!));
  rc.progress(0.9, `char net seed ${seed}: first-order and OBD`);
  const fo = estimateUtilityDetailed(net, batches, "first-order", { edges });
  const obd = estimateUtilityDetailed(net, batches, "obd", { edges, hessian: "lecun" });
  const filled = fillGroups(net, groups, { trueUtility: tru.utility, firstOrder: fo.utility, obd: obd.utility });
  const utilitySeconds = (performance.now() - u0) / 1000;
  return {
    task: "text",
    evalSet: `${p.evalWindows.toLocaleString("en")} validation windows drawn uniformly (seeded)`,
    evalSamples: tru.samples,
    evalLoss: round(tru.loss),
    evalAccuracy: round(accuracy),
    training: { steps: trained.result.steps, trainBits: round(trained.result.trainBits), validBits: round(trained.result.validBits), depth: trained.result.depth, edges: net.edges },
    groups: filled,
    correlations: Object.fromEntries(filled.map((g) => [g.name, correlations(g)])),
    trueCheck: { edges: check.length, maxAbsDiff: round(maxAbsDiff), maxTrue: round(maxTrue), spearman: round(checkSpearman) },
    trainSeconds: round(trainSeconds),
    utilitySeconds: round(utilitySeconds),
  };
}

// ---- the experiment ----

export const utility: Experiment = {
  name: "utility",
  summary: "Fig. 4.2: true edge utility vs |w|, first-order and OBD (MNIST 784-784-10 and a character network)",
  async run(ctx) {
    if (ctx.lr !== undefined || ctx.recipe) throw new UsageError("experiment utility trains with its own fixed settings; --lr, --lr-schedule, --warmup, --lr-final and --clip-norm apply to sparsity, rewiring, versus and compress");
    const tasks = (ctx.configs ?? UTILITY_TASKS) as UtilityTask[];
    for (const t of tasks) if (!UTILITY_TASKS.includes(t)) throw new UsageError(`utility: unknown part "${t}"`, `--configs takes ${UTILITY_TASKS.join(", ")}`);
    if (tasks.includes("mnist") && ctx.mnistPath === undefined && !ctx.reportOnly) {
      throw new UsageError("the utility experiment needs MNIST: pass --mnist DIR (the folder with train-images-idx3-ubyte.gz …)", "e.g. --mnist ../shared/data/mnist, or --configs text for the character network only");
    }
    const mp = mnistProtocol(ctx.quick);
    const corpora = tasks.includes("text") ? await loadCorpora(ctx.textPath, [], ctx.quick ? 4 : 20) : undefined;
    const cp = corpora ? charProtocol(ctx, corpora) : undefined;
    const seeds = ctx.seeds ?? 1;
    const runs: RunSpec[] = [];
    for (let s = 0; s < seeds; s++) {
      const seed = ctx.seedBase + s;
      if (tasks.includes("mnist")) runs.push({ key: `mnist-seed${seed}`, group: "mnist", seed, settings: { task: "mnist", ...mp }, cost: ctx.quick ? 1 : 6 });
      if (cp) runs.push({ key: `text-seed${seed}`, group: "text", seed, settings: { task: "text", ...cp }, cost: ctx.quick ? 1 : 4 });
    }
    const protocol = { quick: ctx.quick, tasks, seeds, seedBase: ctx.seedBase, engine: ctx.engine, ...(tasks.includes("mnist") ? { mnist: mp } : {}), ...(cp ? { text: cp } : {}) };
    let mnist: MnistData | undefined;
    const records = await recordRuns<UtilityRunResult>(ctx, "utility", protocol, runs, async (run, rc) => {
      if (run.group === "mnist") {
        mnist ??= await loadMnistData(ctx.mnistPath!, mp);
        return runMnist(mp, run.seed, mnist, ctx, rc);
      }
      return runChar(cp!, run.seed, corpora!, ctx, rc);
    });
    return report(ctx, records, runs.length, { mnist: tasks.includes("mnist") ? mp : undefined, text: cp, corpus: corpora ? corpusLabel(corpora.name, corpora.symbols, ctx.bundled) : undefined });
  },
};

// ---- report ----

interface Aggregate {
  task: UtilityTask;
  group: string;
  heuristic: Heuristic;
  spearman: number[];
  pearson: number[];
  spearmanAbs: number[];
}

const fmt = (xs: number[]) => meanSd(mean(xs), sd(xs), 3);
/** A pipe inside a Markdown table cell must be escaped. */
const cell = (text: string) => text.replace(/\|/g, "\\|");

async function report(ctx: ExperimentContext, records: RunRecord<UtilityRunResult>[], planned: number, o: { mnist: MnistProtocol | undefined; text: CharProtocol | undefined; corpus: string | undefined }): Promise<ExperimentOutput> {
  const ok = records.filter((r) => r.status === "ok" && r.result);
  const failed = records.length - ok.length;
  const files: string[] = [];
  const aggregates = new Map<string, Aggregate>();
  const groupStats = new Map<string, { task: UtilityTask; group: string; population: number; sampled: number[]; negative: number[]; zero: number[]; meanTrue: number[] }>();
  for (const r of ok) {
    const res = r.result!;
    for (const g of res.groups) {
      const c = correlations(g); // recomputed from the per-edge values (includes derived heuristics)
      for (const h of HEURISTICS) {
        const key = `${res.task}|${g.name}|${h}`;
        if (!aggregates.has(key)) aggregates.set(key, { task: res.task, group: g.name, heuristic: h, spearman: [], pearson: [], spearmanAbs: [] });
        aggregates.get(key)!.spearman.push(c[h].spearman);
        aggregates.get(key)!.pearson.push(c[h].pearson);
        aggregates.get(key)!.spearmanAbs.push(c[h].spearmanAbs);
      }
      const gk = `${res.task}|${g.name}`;
      if (!groupStats.has(gk)) groupStats.set(gk, { task: res.task, group: g.name, population: g.population, sampled: [], negative: [], zero: [], meanTrue: [] });
      const s = groupStats.get(gk)!;
      s.sampled.push(g.edge.length);
      s.negative.push(g.trueUtility.filter((u) => u < 0).length / Math.max(1, g.trueUtility.length));
      s.zero.push(g.trueUtility.filter((u) => u === 0).length / Math.max(1, g.trueUtility.length));
      s.meanTrue.push(mean(g.trueUtility));
    }
  }
  const byTask = (task: UtilityTask) => [...aggregates.values()].filter((a) => a.task === task);
  const corrTable = (task: UtilityTask) =>
    markdownTable(
      ["edges", "heuristic", "Spearman ρ", "Pearson r", cell("Spearman ρ of |heuristic| vs |true utility|")],
      byTask(task).map((a) => [a.group, cell(HEURISTIC_LABEL[a.heuristic]), fmt(a.spearman), fmt(a.pearson), fmt(a.spearmanAbs)]),
    );
  const groupTable = (task: UtilityTask) =>
    markdownTable(
      ["edges", "in the network", "sampled", "true utility < 0 (harmful)", "true utility exactly 0", "mean true utility (bits/sample)"],
      [...groupStats.values()].filter((g) => g.task === task).map((g) => [g.group, g.population.toLocaleString("en"), g.sampled.join(", "), `${(100 * mean(g.negative)).toFixed(1)} %`, `${(100 * mean(g.zero)).toFixed(1)} %`, mean(g.meanTrue).toExponential(2)]),
    );

  // Figures: one panel per layer/group × heuristic; x = heuristic, y = true utility.
  for (const task of UTILITY_TASKS) {
    const rs = ok.filter((r) => r.result!.task === task);
    if (rs.length === 0) continue;
    const points: Record<string, unknown>[] = [];
    for (const r of rs) {
      for (const g of r.result!.groups) {
        for (const h of HEURISTICS) {
          const v = heuristicValues(g, h);
          for (let i = 0; i < g.edge.length; i++) points.push({ edges: g.name, heuristic: HEURISTIC_LABEL[h], x: v[i]!, y: g.trueUtility[i]!, seed: r.seed });
        }
      }
    }
    const title = task === "mnist" ? `True utility vs heuristics, MNIST ${o.mnist?.inputs}-${o.mnist?.hidden}-${o.mnist?.outputs} (Fig. 4.2)` : `True utility vs heuristics, character network (${o.text?.neurons} neurons, d = ${o.text?.inDegree})`;
    const spec = scatterChart(points, { title, x: "x", y: "y", xTitle: "heuristic", yTitle: "true utility (bits/sample)", column: "edges", row: "heuristic" });
    const facet = spec["facet"] as Record<string, Record<string, unknown>>;
    const encoding = (spec["spec"] as { encoding: Record<string, Record<string, unknown>> }).encoding;
    for (const axis of ["x", "y"]) encoding[axis]!["axis"] = { format: ".2~g" }; // 4e-7, not 0.0000000
    facet["row"]!["sort"] = HEURISTICS.map((h) => HEURISTIC_LABEL[h]);
    facet["column"]!["sort"] = [...new Set(rs[0]!.result!.groups.map((g) => g.name))];
    const fig = await writeFigure(ctx.out, `utility-${task}`, spec, ctx.log);
    files.push(fig.svg, ...(fig.png ? [fig.png] : []));
  }

  // Does first-order track the true utility better than |w| and OBD on MNIST's first layer?
  const verdicts: string[] = [];
  const summaryCorr: Record<string, Record<string, Record<string, Correlation>>> = {};
  for (const a of aggregates.values()) {
    ((summaryCorr[a.task] ??= {})[a.group] ??= {})[a.heuristic] = { spearman: mean(a.spearman), pearson: mean(a.pearson), spearmanAbs: mean(a.spearmanAbs) };
  }
  const verdictFor = (task: UtilityTask, group: string): string | undefined => {
    const c = summaryCorr[task]?.[group];
    if (!c || !c["firstOrder"] || !c["magnitude"] || !c["obd"]) return undefined;
    const f = c["firstOrder"]!;
    const better = (m: "spearman" | "pearson") => f[m] > c["magnitude"]![m] && f[m] > c["obd"]![m];
    const both = better("spearman") && better("pearson");
    const either = better("spearman") || better("pearson");
    const nums = (m: "spearman" | "pearson") => `${f[m].toFixed(3)} vs ${c["magnitude"]![m].toFixed(3)} (|w|) and ${c["obd"]![m].toFixed(3)} (OBD)`;
    const head = both ? "**yes**" : either ? "**partly**" : "**no**";
    const t = c["secondOrder"];
    const taylor = t ? ` With both Taylor terms of eq. 4.2: Spearman ${t.spearman.toFixed(3)}, Pearson ${t.pearson.toFixed(3)}.` : "";
    return `${group}: ${head} — Spearman ${nums("spearman")}; Pearson ${nums("pearson")}.${taylor}`;
  };
  const mnistGroups = [...new Set(byTask("mnist").map((a) => a.group))];
  const textGroups = [...new Set(byTask("text").map((a) => a.group))];
  for (const g of mnistGroups) {
    const v = verdictFor("mnist", g);
    if (v) verdicts.push(`- MNIST ${v}`);
  }
  for (const g of textGroups) {
    const v = verdictFor("text", g);
    if (v) verdicts.push(`- Character network, ${v}`);
  }
  const firstLayer = mnistGroups[0] ? summaryCorr["mnist"]?.[mnistGroups[0]] : undefined;
  const thesisAgrees = firstLayer ? firstLayer["firstOrder"]!.spearman > Math.max(firstLayer["magnitude"]!.spearman, firstLayer["obd"]!.spearman) : undefined;

  // Training details.
  const trainRows: (string | number)[][] = [];
  for (const r of ok) {
    const res = r.result!;
    const t = res.training as Record<string, number>;
    if (res.task === "mnist") {
      trainRows.push([`MNIST seed ${r.seed}`, `${t["epochs"]} epochs (best ${t["bestEpoch"]})`, `valid loss ${Number(t["bestValidLoss"]).toFixed(4)} bits, accuracy ${(100 * Number(t["bestValidAccuracy"])).toFixed(2)} %`, `test loss ${res.evalLoss.toFixed(4)} bits, accuracy ${(100 * res.evalAccuracy).toFixed(2)} %`, `${res.trainSeconds.toFixed(0)} + ${res.utilitySeconds.toFixed(0)}`]);
    } else {
      trainRows.push([`char net seed ${r.seed}`, `${t["steps"]} steps`, `train ${Number(t["trainBits"]).toFixed(3)} bits/char, validation ${Number(t["validBits"]).toFixed(3)} bits/char`, `eval windows: loss ${res.evalLoss.toFixed(3)} bits, accuracy ${(100 * res.evalAccuracy).toFixed(1)} %`, `${res.trainSeconds.toFixed(0)} + ${res.utilitySeconds.toFixed(0)}`]);
    }
  }
  const checks = ok.filter((r) => r.result!.trueCheck).map((r) => {
    const c = r.result!.trueCheck!;
    return `seed ${r.seed}: ${c.edges} edges, largest |float32 − float64| ${c.maxAbsDiff.toExponential(2)} bits/sample (largest |utility| ${c.maxTrue.toExponential(2)}), Spearman ${c.spearman.toFixed(4)}`;
  });

  const mp = o.mnist;
  const tp = o.text;
  const md = [
    "## Edge utility (Fig. 4.2)",
    "",
    `Runs recorded: ${records.length} of ${planned}${failed ? `, ${failed} failed` : ""}. True utility (Def. 4.1) = loss with the edge deleted − loss with it, in bits per sample (higher = more useful); heuristics: |w|, the thesis's first-order estimate −w·∂L/∂w (eq. 4.3), and optimal brain damage ½w²·∂²L/∂w² (LeCun's diagonal second-derivative pass). Correlations are over the sampled edges of each layer; with several seeds, mean ± sd over seeds.`,
    "",
    ...(mp
      ? [
          "### MNIST, two fully connected layers",
          "",
          `Network: ${mp.inputs} inputs${mp.pool > 1 ? ` (${mp.pool}×${mp.pool} average-pooled pixels)` : " (all pixels, scaled to [0, 1])"}, ${mp.hidden} ReLU hidden neurons each connected to every input, ${mp.outputs} outputs each connected to every hidden neuron (in-degree ${mp.inDegree}; a fixed-in-degree network built with Network.fromArrays), He initialisation. The thesis used the TensorFlow "deep MNIST" network (two convolutional layers before its two fully connected layers); this is the plain two-layer version the issue asks for. Training: Adam, learning rate ${mp.lr}, batch ${mp.batch}, on the first ${mp.train.toLocaleString("en")} training images; early stopping on the last ${mp.valid.toLocaleString("en")} (patience ${mp.patience} epochs, at most ${mp.maxEpochs}; the best epoch is kept). Utilities: ${mp.edgesPerLayer} weights drawn uniformly per layer, measured on the first ${mp.evalImages.toLocaleString("en")} MNIST test images (as the thesis: "we then evaluate utility on the test set"), all in float64.`,
          "",
          corrTable("mnist"),
          "",
          groupTable("mnist"),
          "",
          ...(byTask("mnist").length ? ["![MNIST](utility-mnist.svg)", ""] : []),
        ]
      : []),
    ...(tp
      ? [
          "### Character network (sparse, non-layered)",
          "",
          `Corpus: ${o.corpus}; split 90/5/5 %. Network: ${tp.neurons} neurons, context ${tp.context}, in-degree ${tp.inDegree}, rewiring off, Adam lr ${tp.lr}, batch ${tp.batch}, ${tp.steps.toLocaleString("en")} steps. Edges grouped by their place in the DAG: leaving an input neuron (into a hidden neuron), between two hidden neurons, and entering an output (from any neuron). Utilities: ${tp.edgesPerGroup} edges drawn uniformly per group, measured on ${tp.evalWindows.toLocaleString("en")} validation windows drawn uniformly with the run's seed. The true utility runs on the ${ctx.engine} engine (float32 forward, float64 loss sums); first-order and OBD on the float64 reference kernels.`,
          "",
          corrTable("text"),
          "",
          groupTable("text"),
          "",
          ...(checks.length ? [`Float32 true utility vs float64 reference on a subset: ${checks.join("; ")}.`, ""] : []),
          ...(byTask("text").length ? ["![character network](utility-text.svg)", ""] : []),
        ]
      : []),
    "### Training",
    "",
    markdownTable(["run", "length", "validation", "utility evaluation set", "seconds (train + utility)"], trainRows),
    "",
    "### Does the first-order estimate track the true utility better than |w| and OBD?",
    "",
    ...verdicts,
    "",
    "|w| and OBD are never negative, so they cannot single out harmful edges (true utility < 0); the last column of the correlation tables ranks only the size of the effect, sign aside. " +
      "OBD's second derivative is LeCun's diagonal pass: exact for edges into an output that feeds no other neuron (MNIST layer 2), an approximation (cross terms between outputs dropped) elsewhere.",
    "",
    thesisAgrees === undefined
      ? "No MNIST result yet."
      : thesisAgrees
        ? "On the first layer of the MNIST network, first-order utility tracks the true utility better than absolute weight and OBD (by Spearman's ρ), as the thesis found (Fig. 4.2)."
        : "On the first layer of the MNIST network, first-order utility does NOT track the true utility better than both absolute weight and OBD (by Spearman's ρ), unlike what the thesis found (Fig. 4.2).",
    "",
  ].join("\n");
  files.push(writeText(ctx.out, "summary.md", md));
  const training = Object.fromEntries(ok.map((r) => [r.key, { ...(r.result!.training as Record<string, unknown>), evalSet: r.result!.evalSet, evalLoss: r.result!.evalLoss, evalAccuracy: r.result!.evalAccuracy, trainSeconds: r.result!.trainSeconds, utilitySeconds: r.result!.utilitySeconds, ...(r.result!.trueCheck ? { trueCheck: r.result!.trueCheck } : {}) }]));
  const summary = { correlations: summaryCorr, firstOrderBestOnMnistLayer1: thesisAgrees ?? null };
  files.push(writeText(ctx.out, "summary.json", JSON.stringify({ experiment: "utility", corpus: o.corpus ?? null, protocol: { mnist: mp ?? null, text: tp ?? null }, runsDone: records.length, runsPlanned: planned, failed, ...summary, training }, null, 1)));
  return { runsDone: records.length, runsPlanned: planned, failed, files, summary };
}
