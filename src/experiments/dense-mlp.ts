/**
 * A dense layered baseline for the `versus` experiment (issue 5): a plain multilayer perceptron of the
 * same size in parameters as a sparse character network, trained on the same batches. The sparse
 * networks have a fixed in-degree per neuron, so a dense layer (in-degree = the previous layer's
 * width) cannot be expressed in them; this file is a small separate trainer, not an engine.
 *
 * Model: inputs → ReLU hidden layers → linear outputs → softmax, cross-entropy in bits (Example 3.6),
 * He initialisation N(0, 2/fan-in) with zero biases (as Network.random), Adam from engine/optimizer.ts.
 * Parameters are float32; activations, errors and gradient sums are float64, so the loss is a float64
 * function of the float32 parameters (what the finite-difference test checks). One-hot inputs are
 * exploited: the first layer adds the weight rows of the active inputs, never multiplying by zeros.
 *
 * Legend: B batch size, n inputs, m outputs, win/wout a layer's input/output width. Per-sample
 * buffers are sample-major: unit j of sample b is at [b·width + j]. Weights of a layer are
 * input-major, W[i·wout + j] connects input i to unit j, so a sample's pre-activation is a sum of
 * contiguous rows. Dense batch inputs keep the engines' layout, values[i·B + b].
 */
import { DEFAULT_ADAM, type Batch, type EvaluationResult, type OptimizerConfig } from "../engine/types.js";
import { applyUpdate, checkLearningRate, checkOptimizer, clipScale, OptimizerState } from "../engine/optimizer.js";
import type { LrSchedule } from "../train/lr-schedule.js";
import { trainText, type StepInfo } from "../train/trainer.js";
import { adam } from "../engine/optimizer.js";
import { crossEntropyBitsFrom, softmaxStats } from "../engine/softmax.js";
import { ALPHABET_SIZE, evaluateText, type TextEvaluation } from "../train/text.js";
import { NumericError, ShapeError, UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";

export interface DenseMlpConfig {
  inputs: number;
  /** Widths of the ReLU hidden layers, first to last (may be empty: a linear softmax model). */
  hidden: number[];
  outputs: number;
}

export interface DenseGradients {
  /** Mean cross-entropy over the batch, bits per sample. */
  loss: number;
  /** ∂(mean loss)/∂W per layer, parallel to `weights`. */
  weightGradients: Float32Array[];
  /** ∂(mean loss)/∂b per layer, parallel to `biases`. */
  biasGradients: Float32Array[];
}

const DEFAULT_OPTIMIZER: OptimizerConfig = DEFAULT_ADAM;

function positiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${what} must be a positive integer, got ${value}`);
}

export class DenseMlp {
  readonly config: DenseMlpConfig;
  /** Layer widths: [inputs, ...hidden, outputs]. */
  readonly widths: readonly number[];
  /** Weights and biases: weights[l] is widths[l]·widths[l+1], input-major; biases[l] is widths[l+1]. */
  readonly weights: Float32Array[];
  readonly biases: Float32Array[];
  /** Weights plus biases. */
  readonly parameters: number;
  readonly optimizer: OptimizerConfig;
  private t = 0;
  private rate: number;
  private readonly weightState: OptimizerState[];
  private readonly biasState: OptimizerState[];
  // Float64 gradient sums and their float32 copies that Adam reads.
  private readonly weightSums: Float64Array[];
  private readonly biasSums: Float64Array[];
  private readonly weightGrads: Float32Array[];
  private readonly biasGrads: Float32Array[];
  // Per-sample buffers, B·widths[l+1] each: layer outputs (ReLU applied; logits for the last) and δ.
  private capacity = 0;
  private acts: Float64Array[] = [];
  private deltas: Float64Array[] = [];

  constructor(config: DenseMlpConfig, rng: Rng, optimizer: OptimizerConfig = DEFAULT_OPTIMIZER) {
    positiveInteger(config.inputs, "dense MLP inputs");
    positiveInteger(config.outputs, "dense MLP outputs");
    config.hidden.forEach((h, l) => positiveInteger(h, `dense MLP hidden layer ${l + 1} width`));
    checkOptimizer(optimizer);
    this.config = { inputs: config.inputs, hidden: [...config.hidden], outputs: config.outputs };
    this.optimizer = optimizer;
    this.rate = optimizer.learningRate;
    this.widths = [config.inputs, ...config.hidden, config.outputs];
    this.weights = [];
    this.biases = [];
    let parameters = 0;
    for (let l = 0; l + 1 < this.widths.length; l++) {
      const win = this.widths[l]!;
      const wout = this.widths[l + 1]!;
      const w = new Float32Array(win * wout);
      const std = Math.sqrt(2 / win);
      for (let p = 0; p < w.length; p++) w[p] = std * rng.nextNormal();
      this.weights.push(w);
      this.biases.push(new Float32Array(wout));
      parameters += win * wout + wout;
    }
    this.parameters = parameters;
    this.weightState = this.weights.map((w) => new OptimizerState(w.length));
    this.biasState = this.biases.map((b) => new OptimizerState(b.length));
    this.weightSums = this.weights.map((w) => new Float64Array(w.length));
    this.biasSums = this.biases.map((b) => new Float64Array(b.length));
    this.weightGrads = this.weights.map((w) => new Float32Array(w.length));
    this.biasGrads = this.biases.map((b) => new Float32Array(b.length));
  }

  get layers(): number {
    return this.weights.length;
  }

  /** Adam's timestep (updates so far). */
  get timestep(): number {
    return this.t;
  }

  /** The rate of the next step, as Engine.learningRate (schedules). */
  get learningRate(): number {
    return this.rate;
  }

  setLearningRate(rate: number): void {
    checkLearningRate(rate);
    this.rate = rate;
  }

  /** Forward, loss and backward without updating; returns copies of the gradients. */
  gradients(batch: Batch): DenseGradients {
    const loss = this.forwardBackward(batch);
    return { loss, weightGradients: this.weightGrads.map((g) => g.slice()), biasGradients: this.biasGrads.map((g) => g.slice()) };
  }

  /**
   * One Adam step on the batch; returns its mean loss in bits. A non-finite loss throws NumericError
   * before the parameters are touched.
   */
  step(batch: Batch): number {
    const loss = this.forwardBackward(batch);
    if (!Number.isFinite(loss)) {
      throw new NumericError(`dense MLP loss became ${loss} at step ${this.t + 1} (batch of ${batch.size})`, "lower the learning rate");
    }
    this.t++;
    if (this.optimizer.clipNorm) this.clip();
    for (let l = 0; l < this.layers; l++) {
      applyUpdate(this.optimizer, this.t, this.weights[l]!, this.weightGrads[l]!, this.weightState[l]!, 0, this.rate);
      applyUpdate(this.optimizer, this.t, this.biases[l]!, this.biasGrads[l]!, this.biasState[l]!, 0, this.rate);
    }
    return loss;
  }

  /** Forward only: summed loss in bits, arg-max hits and the batch size (as Engine.evaluate). */
  evaluate(batch: Batch): EvaluationResult {
    this.forward(batch);
    const { lossSum, correct } = this.loss(batch, false);
    return { lossSum, correct, count: batch.size };
  }

  /** Logits of the batch, B·m sample-major (a view into a scratch buffer, overwritten by the next pass). */
  predict(batch: Batch): Float64Array {
    this.forward(batch);
    return this.acts[this.layers - 1]!.subarray(0, batch.size * this.config.outputs);
  }

  /** Global-norm clipping over every weight and bias gradient (float64 norm), as the reference engine. */
  private clip(): void {
    let squares = 0;
    for (const g of [...this.weightGrads, ...this.biasGrads]) for (let p = 0; p < g.length; p++) squares += g[p]! * g[p]!;
    const scale = clipScale(Math.sqrt(squares), this.optimizer.clipNorm);
    if (scale === 1) return;
    for (const g of [...this.weightGrads, ...this.biasGrads]) for (let p = 0; p < g.length; p++) g[p] = g[p]! * scale;
  }

  private forwardBackward(batch: Batch): number {
    this.forward(batch);
    const { lossSum } = this.loss(batch, true);
    this.backward(batch);
    return lossSum / batch.size;
  }

  private ensureCapacity(B: number): void {
    if (B <= this.capacity) return;
    this.capacity = B;
    this.acts = this.widths.slice(1).map((w) => new Float64Array(B * w));
    this.deltas = this.widths.slice(1).map((w) => new Float64Array(B * w));
  }

  private checkBatch(batch: Batch): void {
    const B = batch.size;
    if (!Number.isInteger(B) || B < 1) throw new ShapeError(`batch size must be a positive integer, got ${B}`);
    const n = this.config.inputs;
    if (batch.inputs.kind === "one-hot") {
      const { perSample, active } = batch.inputs;
      if (active.length < B * perSample) throw new ShapeError(`one-hot batch lists ${active.length} active inputs, ${B} samples × ${perSample} need ${B * perSample}`);
    } else if (batch.inputs.values.length !== n * B) {
      throw new ShapeError(`dense batch holds ${batch.inputs.values.length} input values, ${n} inputs × ${B} samples need ${n * B}`);
    }
    if (batch.targets.kind !== "class") throw new ShapeError(`the dense MLP trains on class targets (softmax cross-entropy), got "${batch.targets.kind}" targets`);
    if (batch.targets.classes.length < B) throw new ShapeError(`batch has ${batch.targets.classes.length} targets for ${B} samples`);
  }

  private forward(batch: Batch): void {
    this.checkBatch(batch);
    const B = batch.size;
    this.ensureCapacity(B);
    const L = this.layers;
    for (let l = 0; l < L; l++) {
      const win = this.widths[l]!;
      const wout = this.widths[l + 1]!;
      const relu = l < L - 1;
      if (l > 0) forwardDense(this.acts[l - 1]!, win, 1, B, this.weights[l]!, this.biases[l]!, this.acts[l]!, wout, relu);
      else if (batch.inputs.kind === "one-hot") forwardOneHot(batch.inputs.active, batch.inputs.perSample, win, B, this.weights[0]!, this.biases[0]!, this.acts[0]!, wout, relu);
      else forwardDense(batch.inputs.values, 1, B, B, this.weights[0]!, this.biases[0]!, this.acts[0]!, wout, relu);
    }
  }

  /** Softmax cross-entropy in bits; with `withGradient`, δ of the logits for the MEAN loss. */
  private loss(batch: Batch, withGradient: boolean): { lossSum: number; correct: number } {
    const B = batch.size;
    const m = this.config.outputs;
    const logits = this.acts[this.layers - 1]!;
    const delta = this.deltas[this.layers - 1]!;
    const classes = (batch.targets as { kind: "class"; classes: Int32Array }).classes;
    const scale = 1 / (Math.LN2 * B);
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < B; b++) {
      const o = b * m;
      const t = classes[b]!;
      if (!(t >= 0 && t < m)) throw new ShapeError(`target class ${t} (sample ${b}) is outside 0..${m - 1}`);
      const stats = softmaxStats(logits, o, 1, m);
      lossSum += crossEntropyBitsFrom(stats, logits[o + t]!);
      if (stats.arg === t) correct++;
      if (withGradient) {
        const norm = scale / stats.sum;
        for (let j = 0; j < m; j++) delta[o + j] = Math.exp(logits[o + j]! - stats.max) * norm;
        delta[o + t] -= scale;
      }
    }
    return { lossSum, correct };
  }

  /** Backward from the logits' δ: gradient sums in float64, then float32 copies for Adam. */
  private backward(batch: Batch): void {
    const B = batch.size;
    for (let l = this.layers - 1; l >= 0; l--) {
      const win = this.widths[l]!;
      const wout = this.widths[l + 1]!;
      const gW = this.weightSums[l]!;
      const gB = this.biasSums[l]!;
      const d = this.deltas[l]!;
      gW.fill(0);
      gB.fill(0);
      if (l > 0) backwardHidden(this.acts[l - 1]!, this.deltas[l - 1]!, win, B, this.weights[l]!, d, wout, gW, gB);
      else if (batch.inputs.kind === "one-hot") backwardOneHot(batch.inputs.active, batch.inputs.perSample, B, d, wout, gW, gB);
      else backwardDenseInput(batch.inputs.values, win, B, d, wout, gW, gB);
      this.weightGrads[l]!.set(gW);
      this.biasGrads[l]!.set(gB);
    }
  }
}

// Layer kernels: plain loops over flat buffers (module-level so each stays monomorphic for the JIT).

/**
 * out[b·wout + j] = bias[j] + Σ_i x[b·sampleStride + i·unitStride] · W[i·wout + j], then ReLU if asked.
 * Hidden activations are sample-major (sampleStride win, unitStride 1); dense batch inputs are
 * neuron-major (sampleStride 1, unitStride B). Zero inputs (ReLU-off units) are skipped.
 */
function forwardDense(
  x: Float64Array | Float32Array, sampleStride: number, unitStride: number, B: number, W: Float32Array, bias: Float32Array, out: Float64Array, wout: number, relu: boolean,
): void {
  const win = W.length / wout;
  for (let b = 0; b < B; b++) {
    const o = b * wout;
    for (let j = 0; j < wout; j++) out[o + j] = bias[j]!;
    const xo = b * sampleStride;
    for (let i = 0; i < win; i++) {
      const a = x[xo + i * unitStride]!;
      if (a === 0) continue;
      const r = i * wout;
      for (let j = 0; j < wout; j++) out[o + j] += a * W[r + j]!;
    }
    // ReLU; NaN passes through so a broken parameter shows up in the loss.
    if (relu) for (let j = 0; j < wout; j++) if (out[o + j]! <= 0) out[o + j] = 0;
  }
}

/** One-hot inputs: out[b·wout + j] = bias[j] + Σ_p W[active[b·perSample + p]·wout + j], then ReLU if asked. */
function forwardOneHot(active: Int32Array, perSample: number, win: number, B: number, W: Float32Array, bias: Float32Array, out: Float64Array, wout: number, relu: boolean): void {
  for (let b = 0; b < B; b++) {
    const o = b * wout;
    for (let j = 0; j < wout; j++) out[o + j] = bias[j]!;
    for (let p = b * perSample; p < (b + 1) * perSample; p++) {
      const s = active[p]!;
      if (!(s >= 0 && s < win)) throw new ShapeError(`one-hot input index ${s} (sample ${b}) is outside 0..${win - 1}`);
      const r = s * wout;
      for (let j = 0; j < wout; j++) out[o + j] += W[r + j]!;
    }
    if (relu) for (let j = 0; j < wout; j++) if (out[o + j]! <= 0) out[o + j] = 0;
  }
}

/**
 * A layer fed by a hidden (ReLU) layer x (B·win): adds x·δ into gW, δ into gB, and writes the
 * previous layer's δ, dPrev[b·win + i] = Σ_j W[i·wout + j]·δ[b·wout + j] where x > 0, else 0.
 */
function backwardHidden(x: Float64Array, dPrev: Float64Array, win: number, B: number, W: Float32Array, d: Float64Array, wout: number, gW: Float64Array, gB: Float64Array): void {
  for (let b = 0; b < B; b++) {
    const o = b * wout;
    for (let j = 0; j < wout; j++) gB[j] += d[o + j]!;
    const xo = b * win;
    for (let i = 0; i < win; i++) {
      const a = x[xo + i]!;
      if (a === 0) {
        dPrev[xo + i] = 0; // ReLU off (a = 0 ⇔ pre-activation ≤ 0): no gradient flows through
        continue;
      }
      const r = i * wout;
      let back = 0;
      for (let j = 0; j < wout; j++) {
        const dj = d[o + j]!;
        gW[r + j] += a * dj;
        back += W[r + j]! * dj;
      }
      dPrev[xo + i] = back;
    }
  }
}

/** First layer on one-hot inputs: the rows of the active inputs get δ added. */
function backwardOneHot(active: Int32Array, perSample: number, B: number, d: Float64Array, wout: number, gW: Float64Array, gB: Float64Array): void {
  for (let b = 0; b < B; b++) {
    const o = b * wout;
    for (let j = 0; j < wout; j++) gB[j] += d[o + j]!;
    for (let p = b * perSample; p < (b + 1) * perSample; p++) {
      const r = active[p]! * wout;
      for (let j = 0; j < wout; j++) gW[r + j] += d[o + j]!;
    }
  }
}

/** First layer on dense inputs (values[i·B + b]). */
function backwardDenseInput(values: Float32Array, win: number, B: number, d: Float64Array, wout: number, gW: Float64Array, gB: Float64Array): void {
  for (let b = 0; b < B; b++) {
    const o = b * wout;
    for (let j = 0; j < wout; j++) gB[j] += d[o + j]!;
    for (let i = 0; i < win; i++) {
      const a = values[i * B + b]!;
      if (a === 0) continue;
      const r = i * wout;
      for (let j = 0; j < wout; j++) gW[r + j] += a * d[o + j]!;
    }
  }
}

/** Weights + biases of a dense MLP with these layer widths. */
export function denseParameterCount(inputs: number, hidden: readonly number[], outputs: number): number {
  const widths = [inputs, ...hidden, outputs];
  let count = 0;
  for (let l = 0; l + 1 < widths.length; l++) count += widths[l]! * widths[l + 1]! + widths[l + 1]!;
  return count;
}

/**
 * Hidden widths for `layers` equal-width hidden layers such that weights + biases come closest to
 * `targetParams`. E.g. (540, 27, 34_800) → [61] (34,675 parameters), matching the sparse network of
 * 1,700 neurons at d = 29 (1,160·29 weights + 1,160 biases).
 */
export function denseHiddenForParameters(inputs: number, outputs: number, targetParams: number, layers = 1): number[] {
  positiveInteger(inputs, "inputs");
  positiveInteger(outputs, "outputs");
  positiveInteger(layers, "hidden layers");
  if (!(targetParams > 0) || !Number.isFinite(targetParams)) throw new UsageError(`target parameter count must be a positive number, got ${targetParams}`);
  // params(h) = (L−1)·h² + (n + 1 + (L−1) + m)·h + m for L hidden layers of width h: increasing in h.
  const a = layers - 1;
  const bq = inputs + 1 + (layers - 1) + outputs;
  const c = outputs - targetParams;
  const root = a === 0 ? -c / bq : (-bq + Math.sqrt(bq * bq - 4 * a * c)) / (2 * a);
  let best = 1;
  let bestError = Infinity;
  for (const h of [Math.floor(root), Math.ceil(root)]) {
    if (h < 1) continue;
    const error = Math.abs(denseParameterCount(inputs, new Array<number>(layers).fill(h), outputs) - targetParams);
    if (error < bestError) { best = h; bestError = error; }
  }
  return new Array<number>(layers).fill(best);
}

export interface DenseTextOptions {
  context: number;
  batch: number;
  steps: number;
  /** Adam learning rate (β1 0.9, β2 0.999, ε 1e-8); the peak of `lrSchedule`. */
  lr: number;
  /** Learning-rate schedule over `steps` (finite), as trainText's; absent: constant. */
  lrSchedule?: LrSchedule;
  /** Global-norm gradient clipping (0 or absent: off), as the sparse engines'. */
  clipNorm?: number;
  seed: number;
  hidden: number[];
  /** Stop after this many seconds even if `steps` are not done. */
  maxSeconds?: number;
  /** A batch loss above this many bits counts as divergence (default 100 × log₂ 27, as trainText). */
  divergenceBits?: number;
  /** Validation windows read at the end (default: all). 0 skips the final validation. */
  evalWindows?: number;
  onStep?: (step: number, loss: number) => void;
}

export interface DenseTextResult {
  model: DenseMlp;
  /** Loss of every step, bits per symbol. */
  losses: Float32Array;
  /** Training wall time, seconds (without the final validation). */
  seconds: number;
  /** Mean batch loss of the last ≤ 256 steps, bits per symbol (as trainText). */
  trainBitsPerSymbol: number;
  /** Validation at the end (bitsPerSymbol NaN, windows 0 when skipped). */
  valid: TextEvaluation;
}

/**
 * Trains a dense MLP on next-symbol prediction in the loop every sparse run uses (trainText), seeded
 * like the run module (src/run/): rng = new Rng(seed); the model is initialised from rng.fork(); the
 * next fork drives the training batches. So a sparse run and a dense run with the same seed,
 * context and batch size train on exactly the same batches.
 */
export async function trainDenseText(train: Uint8Array, valid: Uint8Array, o: DenseTextOptions): Promise<DenseTextResult> {
  positiveInteger(o.context, "context");
  positiveInteger(o.batch, "batch size");
  if (!((Number.isInteger(o.steps) && o.steps >= 0) || o.steps === Infinity)) throw new UsageError(`steps must be a non-negative integer or Infinity, got ${o.steps}`);
  const rng = new Rng(o.seed);
  const model = new DenseMlp({ inputs: ALPHABET_SIZE * o.context, hidden: o.hidden, outputs: ALPHABET_SIZE }, rng.fork(), adam(o.lr, { clipNorm: o.clipNorm }));
  const trained = await trainText(model, train, valid, {
    context: o.context,
    batch: o.batch,
    steps: o.steps,
    ...(o.maxSeconds !== undefined ? { maxSeconds: o.maxSeconds } : {}),
    ...(o.lrSchedule ? { lrSchedule: o.lrSchedule } : {}),
    ...(o.divergenceBits !== undefined ? { divergenceBits: o.divergenceBits } : {}),
    evalEvery: 0,
    evalWindows: 0,
    ...(o.evalWindows !== undefined ? { finalEvalWindows: o.evalWindows } : {}),
    rng: rng.fork(),
    ...(o.onStep ? { onStep: (i: StepInfo) => o.onStep!(i.step, i.loss) } : {}),
  });
  return { model, losses: trained.losses, seconds: trained.seconds, trainBitsPerSymbol: trained.trainBitsPerSymbol, valid: trained.valid };
}

/** Mean bits per symbol and accuracy over every window of `symbols` (or the first maxWindows), in order. */
export function evaluateDenseText(model: DenseMlp, symbols: Uint8Array, context: number, batch: number, maxWindows = Infinity): TextEvaluation {
  if (model.config.inputs !== ALPHABET_SIZE * context || model.config.outputs !== ALPHABET_SIZE) {
    throw new ShapeError(`dense MLP has ${model.config.inputs} inputs and ${model.config.outputs} outputs; context ${context} text needs ${ALPHABET_SIZE * context} and ${ALPHABET_SIZE}`);
  }
  return evaluateText(model, symbols, context, batch, maxWindows);
}
