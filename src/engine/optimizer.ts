/**
 * Optimiser updates over flat parameter arrays: the reference definition that every engine follows.
 * Per-parameter state (Adam's m and v, SGD's velocity) is kept per edge so rewiring can reset a
 * single edge, and Adam's timestep can be reset (the thesis resets it after each rewiring round, §4.6).
 */
import { DEFAULT_ADAM, type OptimizerConfig } from "./types.js";
import { settingError, UsageError } from "../util/errors.js";

export function checkOptimizer(c: OptimizerConfig): void {
  if (!(c.learningRate > 0) || !Number.isFinite(c.learningRate)) throw settingError("optimizer.learningRate", `must be a positive number, got ${c.learningRate}`);
  if (c.kind === "adam") {
    if (!(c.beta1 >= 0 && c.beta1 < 1)) throw settingError("optimizer.beta1", `must be in [0, 1), got ${c.beta1}`);
    if (!(c.beta2 >= 0 && c.beta2 < 1)) throw settingError("optimizer.beta2", `must be in [0, 1), got ${c.beta2}`);
    if (!(c.epsilon > 0)) throw settingError("optimizer.epsilon", `must be positive, got ${c.epsilon}`);
  } else if (!(c.momentum >= 0 && c.momentum < 1)) {
    throw settingError("optimizer.momentum", `must be in [0, 1), got ${c.momentum}`);
  }
  if (c.clipNorm !== undefined && !(c.clipNorm >= 0 && Number.isFinite(c.clipNorm))) throw settingError("optimizer.clipNorm", `must be a number ≥ 0 (0 = off), got ${c.clipNorm}`);
  if (c.weightDecay !== undefined && !(c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) throw settingError("optimizer.weightDecay", `must be a number ≥ 0 (0 = off), got ${c.weightDecay}`);
}

/** The rate setLearningRate accepts: finite and ≥ 0 (0 happens at the end of a decay to 0). */
export function checkLearningRate(rate: number): void {
  if (!(rate >= 0 && Number.isFinite(rate))) throw new UsageError(`invalid learning rate ${rate} for this step (must be a finite number ≥ 0)`);
}

/**
 * The factor that clips gradients of global L2 norm `norm` to at most `clipNorm` (1: leave them),
 * rounded to float32 so that every engine multiplies by the same number.
 */
export function clipScale(norm: number, clipNorm: number | undefined): number {
  if (!clipNorm || !(norm > clipNorm)) return 1;
  return Math.fround(clipNorm / norm);
}

/** Optimiser state for one parameter array. */
export class OptimizerState {
  /** Adam: first moment; SGD: velocity. */
  readonly first: Float32Array;
  /** Adam: second moment; unused by SGD. */
  readonly second: Float32Array;
  /**
   * Per-parameter bias correction only: β1^τ and β2^τ of each parameter (τ its own step count),
   * float32 and multiplied by β every step, as the WebAssembly kernel keeps them.
   */
  readonly powers: { beta1: Float32Array; beta2: Float32Array } | undefined;
  constructor(size: number, perParameter = false) {
    this.first = new Float32Array(size);
    this.second = new Float32Array(size);
    this.powers = perParameter ? { beta1: new Float32Array(size).fill(1), beta2: new Float32Array(size).fill(1) } : undefined;
  }
  /** Fresh state for one parameter (a new edge): m = v = 0 and, per parameter, τ = 0. */
  reset(index: number): void {
    this.first[index] = 0;
    this.second[index] = 0;
    if (this.powers) {
      this.powers.beta1[index] = 1;
      this.powers.beta2[index] = 1;
    }
  }
  /** τ = 0 for every parameter (the thesis's timestep reset, per parameter). */
  resetSteps(): void {
    this.powers?.beta1.fill(1);
    this.powers?.beta2.fill(1);
  }
}

/** Bias-correction factors of Adam at timestep t (t ≥ 1): lr·√(1−β2^t)/(1−β1^t) folded in later. */
export function adamCorrections(c: OptimizerConfig & { kind: "adam" }, t: number): { c1: number; c2: number } {
  return { c1: 1 / (1 - Math.pow(c.beta1, t)), c2: 1 / (1 - Math.pow(c.beta2, t)) };
}

/**
 * One update of `params` from `grads` at timestep t (already incremented, t ≥ 1) with rate `lr`
 * (default: the config's). Entries before `from` are not parameters (input biases) and stay
 * untouched. Clipping (c.clipNorm) is the engine's job: it needs the norm over all arrays.
 */
export function applyUpdate(
  c: OptimizerConfig,
  t: number,
  params: Float32Array,
  grads: Float32Array,
  state: OptimizerState,
  from = 0,
  lr = c.learningRate,
  decay = 0,
): void {
  const m = state.first;
  const v = state.second;
  // L2 weight decay (edge weights only; the engine passes 0 for biases): g + λ·w, in float32 as the kernel adds it.
  const grad = (p: number) => (decay ? Math.fround(grads[p]! + Math.fround(decay * params[p]!)) : grads[p]!);
  if (c.kind === "adam" && state.powers) {
    // Per-parameter correction, in the kernel's float32 steps: p ← p·β, m̂ = m/(1 − p1), v̂ = v/(1 − p2).
    const { beta1, beta2, epsilon } = c;
    const p1 = state.powers.beta1;
    const p2 = state.powers.beta2;
    for (let p = from; p < params.length; p++) {
      const g = grad(p);
      const mp = (m[p] = beta1 * m[p]! + (1 - beta1) * g);
      const vp = (v[p] = beta2 * v[p]! + (1 - beta2) * g * g);
      p1[p] = p1[p]! * beta1;
      p2[p] = p2[p]! * beta2;
      const q1 = p1[p]!;
      const q2 = p2[p]!;
      params[p] = params[p]! - (lr * (mp / (1 - q1))) / (Math.sqrt(vp / (1 - q2)) + epsilon);
    }
  } else if (c.kind === "adam") {
    const { beta1, beta2, epsilon } = c;
    const { c1, c2 } = adamCorrections(c, t);
    for (let p = from; p < params.length; p++) {
      const g = grad(p);
      const mp = (m[p] = beta1 * m[p]! + (1 - beta1) * g);
      const vp = (v[p] = beta2 * v[p]! + (1 - beta2) * g * g);
      params[p] = params[p]! - (lr * (mp * c1)) / (Math.sqrt(vp * c2) + epsilon);
    }
  } else {
    const mu = c.momentum;
    for (let p = from; p < params.length; p++) {
      const vel = (m[p] = mu * m[p]! + grad(p));
      params[p] = params[p]! - lr * vel;
    }
  }
}

/**
 * Adam as the thesis trains (§4.6) at a given rate: DEFAULT_ADAM's β1 0.9, β2 0.999, ε 1e-8, with
 * optional clipping and per-parameter bias correction (types.ts). The one place those numbers live.
 */
export function adam(learningRate: number, o: { clipNorm?: number | undefined; biasCorrection?: "global" | "per-parameter" | undefined } = {}): OptimizerConfig {
  return {
    ...(DEFAULT_ADAM as OptimizerConfig & { kind: "adam" }),
    learningRate,
    ...(o.clipNorm ? { clipNorm: o.clipNorm } : {}),
    ...(o.biasCorrection === "per-parameter" ? { biasCorrection: "per-parameter" as const } : {}),
  };
}
