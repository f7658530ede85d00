/**
 * The reference engine: plain TypeScript, one thread, float32 storage, the oracle that every fast
 * engine is tested against (kept forever, like llm.c's train_gpt2.c). It works on the network's own
 * arrays, so push()/pull() only refresh its view of the graph.
 */
import type { Network } from "../../graph/network.js";
import { ShapeError } from "../../util/errors.js";
import { applyUpdate, checkLearningRate, checkOptimizer, clipScale, OptimizerState } from "../optimizer.js";
import type { Batch, Engine, EngineOptions, EvaluationResult, GradientOptions, GradientResult, OptimizerConfig } from "../types.js";
import { checkOptimizerSnapshot, DEFAULT_ADAM, perParameterCorrection, type OptimizerSnapshot, type UtilityStatistics } from "../types.js";
import { allocateWorkspace, backward, forward, loss, outputsOf, type Workspace } from "./kernels.js";
import { checkDropout, dropoutMask, type DropoutConfig } from "../dropout.js";

/**
 * The plain-TypeScript engine: one thread, float32, the oracle the wasm engine is tested against.
 * It trains the network's own arrays, so `pull()` and `push()` only refresh its view of the graph.
 */
export class ReferenceEngine implements Engine {
  readonly name = "reference" as const;
  readonly threads = 1;
  readonly network: Network;
  readonly optimizer: OptimizerConfig;
  private workspace: Workspace | undefined;
  private readonly weightGradients: Float32Array;
  private readonly biasGradients: Float32Array;
  private readonly weightState: OptimizerState;
  private readonly biasState: OptimizerState;
  private t = 0;
  /** Updates since creation (or since the restored state began): the dropout masks' counter. */
  private updates = 0;
  private rate: number;
  private readonly dropout: DropoutConfig | undefined;

  constructor(network: Network, options: EngineOptions = {}) {
    this.network = network;
    this.optimizer = options.optimizer ?? DEFAULT_ADAM;
    checkOptimizer(this.optimizer);
    this.rate = this.optimizer.learningRate;
    if (options.dropout) checkDropout(options.dropout);
    this.dropout = options.dropout && options.dropout.rate > 0 ? options.dropout : undefined;
    this.weightGradients = new Float32Array(network.weights.length);
    this.biasGradients = new Float32Array(network.neurons);
    this.weightState = new OptimizerState(network.weights.length, perParameterCorrection(this.optimizer));
    this.utility = options.utilityStatistics ? { first: new Float32Array(network.weights.length), squared: new Float32Array(network.weights.length), steps: 0 } : undefined;
    this.biasState = new OptimizerState(network.neurons, perParameterCorrection(this.optimizer));
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

  private prepare(batch: Batch): Workspace {
    checkBatch(this.network, batch);
    if (!this.workspace || this.workspace.batch !== batch.size) this.workspace = allocateWorkspace(this.network, batch.size, "f32");
    return this.workspace;
  }

  gradients(batch: Batch, options: GradientOptions = {}): GradientResult {
    const ws = this.prepare(batch);
    const net = this.network;
    forward(net, net, batch, ws);
    const { lossSum } = loss(net, batch, ws, true);
    const activity = options.activity === true;
    backward(net, net, batch, ws, this.weightGradients, this.biasGradients, activity);
    const result: GradientResult = {
      loss: lossSum / batch.size,
      weightGradients: this.weightGradients.slice(),
      biasGradients: this.biasGradients.slice(),
    };
    if (activity) {
      const outputs = new Float32Array(net.neurons * batch.size);
      outputsOf(net, batch, ws, outputs);
      result.outputs = outputs;
      result.errors = Float32Array.from(ws.delta);
    }
    return result;
  }

  evaluate(batch: Batch): EvaluationResult {
    const ws = this.prepare(batch);
    forward(this.network, this.network, batch, ws);
    const { lossSum, correct } = loss(this.network, batch, ws, false);
    return { lossSum, correct, count: batch.size };
  }

  predict(batch: Batch): Float32Array {
    const ws = this.prepare(batch);
    forward(this.network, this.network, batch, ws);
    const { neurons: k, outputs: m } = this.network;
    return Float32Array.from(ws.pre.subarray((k - m) * batch.size, k * batch.size));
  }

  step(batch: Batch): number {
    const ws = this.prepare(batch);
    const net = this.network;
    const mask = this.dropout ? dropoutMask(this.dropout, this.updates, net.neurons, net.inputs, net.outputs) : undefined;
    forward(net, net, batch, ws, mask);
    const { lossSum } = loss(net, batch, ws, true);
    backward(net, net, batch, ws, this.weightGradients, this.biasGradients, false, mask);
    this.updates++;
    if (this.optimizer.clipNorm) this.clip();
    if (this.utility) {
      // Before the update: w of this step, g after clipping (as the kernel sums them), in float32.
      const { first, squared } = this.utility;
      for (let e = 0; e < first.length; e++) {
        const wg = Math.fround(net.weights[e]! * this.weightGradients[e]!);
        first[e] = first[e]! - wg;
        squared[e] = squared[e]! + Math.fround(wg * wg);
      }
      this.utility.steps++;
    }
    this.t++;
    applyUpdate(this.optimizer, this.t, net.weights, this.weightGradients, this.weightState, 0, this.rate, this.optimizer.weightDecay ?? 0);
    applyUpdate(this.optimizer, this.t, net.biases, this.biasGradients, this.biasState, net.inputs, this.rate);
    return lossSum / batch.size;
  }

  /** Global-norm clipping: the L2 norm (float64) over all weight and non-input bias gradients. */
  private clip(): void {
    const g = this.weightGradients;
    const gb = this.biasGradients;
    const n = this.network.inputs;
    let squares = 0;
    for (let e = 0; e < g.length; e++) squares += g[e]! * g[e]!;
    for (let j = n; j < gb.length; j++) squares += gb[j]! * gb[j]!;
    const scale = clipScale(Math.sqrt(squares), this.optimizer.clipNorm);
    if (scale === 1) return;
    for (let e = 0; e < g.length; e++) g[e] = g[e]! * scale;
    for (let j = n; j < gb.length; j++) gb[j] = gb[j]! * scale;
  }

  resetTimestep(): void {
    this.t = 0;
    this.weightState.resetSteps();
    this.biasState.resetSteps();
  }

  resetEdgeState(edge: number): void {
    this.weightState.reset(edge);
    if (this.utility) {
      this.utility.first[edge] = 0;
      this.utility.squared[edge] = 0;
    }
  }

  accumulatedUtility(): UtilityStatistics | undefined {
    if (!this.utility) return undefined;
    return { steps: this.utility.steps, firstOrder: this.utility.first.slice(), squared: this.utility.squared.slice() };
  }

  clearAccumulatedUtility(): void {
    if (!this.utility) return;
    this.utility.first.fill(0);
    this.utility.squared.fill(0);
    this.utility.steps = 0;
  }
  private readonly utility: { first: Float32Array; squared: Float32Array; steps: number } | undefined;

  optimizerState(): OptimizerSnapshot {
    return {
      timestep: this.t,
      updates: this.updates,
      weightFirst: this.weightState.first.slice(),
      weightSecond: this.weightState.second.slice(),
      biasFirst: this.biasState.first.slice(),
      biasSecond: this.biasState.second.slice(),
      ...(this.weightState.powers && this.biasState.powers
        ? { powers: { weightBeta1: this.weightState.powers.beta1.slice(), weightBeta2: this.weightState.powers.beta2.slice(), biasBeta1: this.biasState.powers.beta1.slice(), biasBeta2: this.biasState.powers.beta2.slice() } }
        : {}),
    };
  }

  setOptimizerState(state: OptimizerSnapshot): void {
    checkOptimizerSnapshot(state, this.network.edges, this.network.neurons);
    this.t = state.timestep;
    this.updates = state.updates ?? 0;
    this.weightState.first.set(state.weightFirst);
    this.weightState.second.set(state.weightSecond);
    this.biasState.first.set(state.biasFirst);
    this.biasState.second.set(state.biasSecond);
    setPowers(this.weightState, this.biasState, state, this.optimizer);
  }

  pull(): void {}
  push(): void {}
  async dispose(): Promise<void> {}
}

/** Shape checks at the boundary, once per batch, never inside the loops. */
export function checkBatch(net: Network, batch: Batch): void {
  const B = batch.size;
  const { inputs: n, outputs: m } = net;
  if (!Number.isInteger(B) || B < 1) throw new ShapeError(`batch size must be a positive integer, got ${B}`);
  if (batch.inputs.kind === "dense") {
    if (batch.inputs.values.length !== n * B) throw new ShapeError(`dense inputs hold ${batch.inputs.values.length} values, expected inputs·batch = ${n}·${B} = ${n * B}`);
  } else {
    const { perSample, active } = batch.inputs;
    if (active.length < perSample * B) throw new ShapeError(`one-hot inputs hold ${active.length} indices, expected perSample·batch = ${perSample * B}`);
    for (let p = 0; p < perSample * B; p++) {
      const i = active[p]!;
      if (!(i >= 0 && i < n)) throw new ShapeError(`one-hot input index ${i} (sample ${Math.floor(p / perSample)}) is outside 0..${n - 1}`);
    }
  }
  if (batch.targets.kind === "class") {
    const c = batch.targets.classes;
    if (c.length < B) throw new ShapeError(`targets hold ${c.length} classes, expected batch = ${B}`);
    for (let b = 0; b < B; b++) if (!(c[b]! >= 0 && c[b]! < m)) throw new ShapeError(`target class ${c[b]} (sample ${b}) is outside 0..${m - 1}`);
  } else if (batch.targets.values.length !== m * B) {
    throw new ShapeError(`target values hold ${batch.targets.values.length} numbers, expected outputs·batch = ${m * B}`);
  }
}

/**
 * Per-parameter correction: the snapshot's β^τ, or τ = its timestep for every parameter when it
 * has none (a state saved by an engine with the global correction).
 */
export function setPowers(weights: OptimizerState, biases: OptimizerState, state: OptimizerSnapshot, c: OptimizerConfig): void {
  if (!weights.powers || !biases.powers || c.kind !== "adam") return;
  if (!state.powers) {
    for (const s of [weights, biases]) {
      s.powers!.beta1.fill(Math.pow(c.beta1, state.timestep));
      s.powers!.beta2.fill(Math.pow(c.beta2, state.timestep));
    }
    return;
  }
  weights.powers.beta1.set(state.powers.weightBeta1);
  weights.powers.beta2.set(state.powers.weightBeta2);
  biases.powers.beta1.set(state.powers.biasBeta1);
  biases.powers.beta2.set(state.powers.biasBeta2);
}
