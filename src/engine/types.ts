/**
 * The engine interface: what every engine (the plain-TypeScript reference oracle, the WebAssembly
 * SIMD engine) implements. One batch at a time: forward, loss, backward in reverse evaluation order
 * (Example 4.9), and an optimiser step.
 *
 * Legend: k neurons, n inputs, m outputs, d in-degree, B batch size. Per-sample buffers are
 * neuron-major with the batch contiguous: value of neuron i for sample b is at [i·B + b].
 */
import type { Network } from "../graph/network.js";
import { ShapeError } from "../util/errors.js";
import type { DropoutConfig } from "./dropout.js";

/** Inputs of a batch. One-hot inputs list the active input neurons, so engines never multiply by 0. */
export type BatchInputs =
  /** active[b·perSample + p] is an input neuron whose value is 1 for sample b; all others are 0. */
  | { kind: "one-hot"; perSample: number; active: Int32Array }
  /** values[i·B + b] is input neuron i for sample b (n·B, neuron-major). */
  | { kind: "dense"; values: Float32Array };

/** Targets of a batch; their kind picks the loss (softmax cross-entropy in bits, or squared error). */
export type BatchTargets =
  /**
   * Class indices in 0..m-1, with softmax cross-entropy in bits (Example 3.6, the default) or,
   * `loss: "sigmoid-squared"`, sigmoid outputs with squared error against the one-hot target,
   * Σ_o (σ(a_o) − [o = t])² per sample (SET's set-up; Example 3.5 on σ(a)). Both count arg-max hits.
   * `loss: "sigmoid-squared-set"` reports the same loss but trains with the gradient SET's published
   * code uses, (σ − y)·σ'(σ(a)) per output (the sigmoid's derivative taken at σ(a), not at a, and no
   * factor 2): only for reproducing SET's table (`experiment set-table`).
   */
  | { kind: "class"; classes: Int32Array; loss?: ClassLoss }
  /** Squared error (Example 3.5) against values[o·B + b], o in 0..m-1. */
  | { kind: "values"; values: Float32Array };

/** The loss of class targets: softmax cross-entropy in bits, or sigmoid outputs with squared error. */
export type ClassLoss = "cross-entropy" | "sigmoid-squared" | "sigmoid-squared-set";

/** One batch of B samples: inputs and targets in the layouts of BatchInputs and BatchTargets. */
export interface Batch {
  /** B: samples in the batch. */
  size: number;
  inputs: BatchInputs;
  targets: BatchTargets;
}

/** Options of `Engine.gradients`. */
export interface GradientOptions {
  /** Also return per-sample outputs σ(a) and errors δ = ∂L/∂a of every neuron (rewiring reads them). */
  activity?: boolean;
}

/** What `Engine.gradients` returns: the mean loss and its gradients, without an update. */
export interface GradientResult {
  /** Mean loss per sample over the batch (bits for cross-entropy). */
  loss: number;
  /** ∂(mean loss)/∂w, parallel to network.weights ((k-n)·d). */
  weightGradients: Float32Array;
  /** ∂(mean loss)/∂b, length k (0 for inputs). */
  biasGradients: Float32Array;
  /** σ(a) for every neuron, k·B neuron-major (inputs: their value x). Only with `activity`. */
  outputs?: Float32Array;
  /** δ = ∂(mean loss)/∂a for every neuron, k·B neuron-major. Only with `activity`. */
  errors?: Float32Array;
}

/** What `Engine.evaluate` returns: loss summed over the batch (not averaged) and arg-max hits. */
export interface EvaluationResult {
  /** Sum of per-sample losses (bits for cross-entropy) over the batch. */
  lossSum: number;
  /** Samples whose arg-max output equals the target class (cross-entropy only; else 0). */
  correct: number;
  /** Samples evaluated (B). */
  count: number;
}

/** The optimiser and its hyperparameters; every engine made with it applies the same update rule. */
export type OptimizerConfig = (
  /**
   * Adam (Kingma & Ba 2014) with bias correction: "global" (default) corrects every parameter by
   * the engine's timestep t; "per-parameter" by each parameter's own step count τ, which restarts
   * at 0 when rewiring gives an edge fresh state (resetEdgeState). With the global correction a new
   * edge's m, v start at 0 while t runs on, so its first steps are several times the rate (the
   * "cold start" of regrown weights, issue 12); per-parameter correction makes them the size of its
   * neighbours' steps. resetTimestep restarts every τ.
   */
  | { kind: "adam"; learningRate: number; beta1: number; beta2: number; epsilon: number; biasCorrection?: "global" | "per-parameter" }
  /** Plain SGD with optional (heavy-ball) momentum. */
  | { kind: "sgd"; learningRate: number; momentum: number }
) & {
  /**
   * Clip by global norm (Pascanu et al. 2013): when the L2 norm of all weight and bias gradients of
   * a step exceeds this, they are scaled by clipNorm/norm before the update. Absent or 0: off. Part
   * of the update rule, so it travels with the optimiser to every engine made from it.
   */
  clipNorm?: number;
  /**
   * L2 weight decay λ of the edge weights (SET's set-up): the update uses g + λ·w for every weight,
   * after clipping; biases are not decayed. Absent or 0: off.
   */
  weightDecay?: number;
};

/**
 * An engine's optimiser state in network order, as copies: it outlives the engine, so a network
 * rebuilt at a smaller in-degree (gradual pruning) or a resumed run continues with it.
 */
export interface OptimizerSnapshot {
  /** Updates since the last timestep reset (Adam's t). */
  timestep: number;
  /**
   * Updates since the engine (or the state it continues) began, never reset: the dropout masks'
   * step counter. Absent in older snapshots: taken as 0.
   */
  updates?: number;
  /** Adam's m (SGD: the velocity) and v of every edge, indexed like network.sources / weights. */
  weightFirst: Float32Array;
  weightSecond: Float32Array;
  /** The same per neuron, length k (inputs have no bias: 0). */
  biasFirst: Float32Array;
  biasSecond: Float32Array;
  /** Per-parameter bias correction only: β1^τ and β2^τ of every edge and neuron (τ its own steps). */
  powers?: { weightBeta1: Float32Array; weightBeta2: Float32Array; biasBeta1: Float32Array; biasBeta2: Float32Array };
}

/** Adam with the usual defaults (learning rate 0.001, β1 0.9, β2 0.999, ε 1e-8): an engine's optimiser when none is given. */
export const DEFAULT_ADAM: OptimizerConfig = { kind: "adam", learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** The engines `createEngine` can make: the plain-TypeScript oracle or the WebAssembly SIMD engine. */
export type EngineName = "reference" | "wasm";

/** Options of `createEngine`. */
export interface EngineOptions {
  /** Default: `DEFAULT_ADAM`. */
  optimizer?: OptimizerConfig;
  /** Worker threads (wasm engine); the reference engine always uses 1. */
  threads?: number;
  /** Accumulate every edge's −w·g and (w·g)² at every training step (accumulatedUtility). */
  utilityStatistics?: boolean;
  /** Dropout of hidden neurons in training steps (not in gradients, evaluate or predict). */
  dropout?: DropoutConfig;
}

/**
 * Per-edge sums over the training steps since the last clear (issue 12 item 5): eq. 4.3's −w·∂L/∂w
 * at every step instead of over one batch, and (w·∂L/∂w)² for a curvature term. w is the weight
 * before the step's update, ∂L/∂w the step's mean-loss gradient in bits (after clipping).
 */
export interface UtilityStatistics {
  /** Steps summed. */
  steps: number;
  /** Σ −w·g per edge, in network order. */
  firstOrder: Float32Array;
  /** Σ (w·g)² per edge. */
  squared: Float32Array;
}

/**
 * An engine trains one network. Parameters may live inside the engine (e.g. in WebAssembly memory)
 * between `pull()`/`push()`; the reference engine works on the network's arrays directly.
 */
export interface Engine {
  readonly name: EngineName;
  readonly threads: number;
  readonly network: Network;
  /** Forward + backward without updating parameters. */
  gradients(batch: Batch, options?: GradientOptions): GradientResult;
  /** Forward only. */
  evaluate(batch: Batch): EvaluationResult;
  /** Output-neuron activations (logits for cross-entropy), m·B neuron-major. */
  predict(batch: Batch): Float32Array;
  /** One training step (forward, loss, backward, clipping if on, optimiser update). Returns the mean loss. */
  step(batch: Batch): number;
  /** The learning rate of the next step: the optimiser's, until setLearningRate changes it. */
  readonly learningRate: number;
  /** Use this rate from the next step on (learning-rate schedules); a finite number ≥ 0. */
  setLearningRate(rate: number): void;
  /** Adam's timestep t (number of updates since the last reset). */
  readonly timestep: number;
  /** Restart Adam's bias correction at t = 0 (the thesis does this after every rewiring round, §4.6). */
  resetTimestep(): void;
  /** Zero the optimiser state (m, v) of one edge: index into sources/weights. */
  resetEdgeState(edge: number): void;
  /** A copy of the optimiser state and timestep, in network order. */
  optimizerState(): OptimizerSnapshot;
  /** The utility sums since the last clear, or undefined unless made with `utilityStatistics`. */
  accumulatedUtility(): UtilityStatistics | undefined;
  /** Start the utility sums again (every edge, steps = 0). */
  clearAccumulatedUtility(): void;
  /** Replace the optimiser state and timestep (arrays sized for this engine's network). */
  setOptimizerState(state: OptimizerSnapshot): void;
  /** Write the engine's parameters into network.weights / network.biases. */
  pull(): void;
  /** Re-read network.sources / weights / biases / order after an edit (rewiring, loading). */
  push(): void;
  /** Free workers and memory. */
  dispose(): Promise<void>;
}

/** Refuses a snapshot whose arrays do not fit a network of `edges` edges and `neurons` neurons. */
export function checkOptimizerSnapshot(state: OptimizerSnapshot, edges: number, neurons: number): void {
  if (!(Number.isInteger(state.timestep) && state.timestep >= 0)) throw new ShapeError(`optimiser state: timestep ${state.timestep} is not a non-negative integer`);
  if (state.updates !== undefined && !(Number.isInteger(state.updates) && state.updates >= 0)) throw new ShapeError(`optimiser state: updates ${state.updates} is not a non-negative integer`);
  const arrays: [string, Float32Array, number][] = [["weightFirst", state.weightFirst, edges], ["weightSecond", state.weightSecond, edges], ["biasFirst", state.biasFirst, neurons], ["biasSecond", state.biasSecond, neurons]];
  if (state.powers) {
    const p = state.powers;
    arrays.push(["powers.weightBeta1", p.weightBeta1, edges], ["powers.weightBeta2", p.weightBeta2, edges], ["powers.biasBeta1", p.biasBeta1, neurons], ["powers.biasBeta2", p.biasBeta2, neurons]);
  }
  for (const [name, a, want] of arrays) {
    if (a.length !== want) throw new ShapeError(`optimiser state: ${name} has ${a.length} entries, expected ${want}`);
  }
}

/** True for Adam with per-parameter bias correction. */
export function perParameterCorrection(c: OptimizerConfig): boolean {
  return c.kind === "adam" && c.biasCorrection === "per-parameter";
}
