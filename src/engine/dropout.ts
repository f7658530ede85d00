/**
 * Dropout (Srivastava et al. 2014) of hidden neurons during training steps, as SET's set-up uses it
 * (issue 15): each hidden neuron's output σ(a) is kept with probability 1 − rate and then scaled by
 * 1/(1 − rate) ("inverted" dropout, so evaluation needs no rescaling), or set to 0.
 *
 * The mask is a counter-based hash of (seed, training step, neuron, sample), not a generator's
 * stream: every engine (the reference, the wasm kernels on any number of threads, any batch tiling)
 * draws the same mask without sharing state, and a resumed run draws the masks it would have drawn.
 * Inputs and outputs are never dropped (an output's σ still feeds later neurons undropped).
 */
import { settingError } from "../util/errors.js";

/** Dropout of an engine's training steps. */
export interface DropoutConfig {
  /** Probability of dropping a hidden neuron's output in one sample, in [0, 1). 0: off. */
  rate: number;
  /** Seed of the masks (the run's seed fork). */
  seed: number;
}

export function checkDropout(c: DropoutConfig): void {
  if (!(c.rate >= 0 && c.rate < 1)) throw settingError("dropout.rate", `must be in [0, 1), got ${c.rate}`);
  if (!Number.isInteger(c.seed)) throw settingError("dropout.seed", `must be an integer, got ${c.seed}`);
}

/** MurmurHash3's 32-bit finaliser: a bijection on u32 with full avalanche (returned as u32). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Key of one training step (step counts from 0 over the engine's life, across timestep resets). */
export function dropoutStepKey(seed: number, step: number): number {
  return fmix32((seed ^ fmix32(step >>> 0)) >>> 0);
}

/** Key of one neuron within a step: the wasm kernels get these per row from the host. */
export function dropoutNeuronKey(stepKey: number, neuron: number): number {
  return fmix32((stepKey ^ fmix32(Math.imul(neuron, 0x9e3779b9) >>> 0)) >>> 0);
}

/** A hash ≥ this keeps the value: ⌊rate·2³²⌋, so P(keep) = 1 − rate up to 2⁻³². */
export function dropoutThreshold(rate: number): number {
  return Math.min(0xffffffff, Math.floor(rate * 4294967296));
}

/** The factor kept values are multiplied by, 1/(1 − rate) rounded to float32 as every engine uses it. */
export function dropoutScale(rate: number): number {
  return Math.fround(1 / (1 - rate));
}

/** True when sample `sample` keeps the neuron whose key is `neuronKey`. */
export function dropoutKeeps(neuronKey: number, sample: number, threshold: number): boolean {
  return fmix32((neuronKey ^ sample) >>> 0) >= threshold;
}

/**
 * The mask of one training step, as the reference kernels apply it: `factor(j, b)` is the number
 * neuron j's output in sample b is multiplied by (0 or the scale), for hidden neurons only.
 */
export interface DropoutMask {
  /** First output neuron: neurons in [inputs, firstOutput) are hidden and may be dropped. */
  firstOutput: number;
  inputs: number;
  scale: number;
  /** Per neuron: its key in this step (inputs and outputs unused). */
  keys: Uint32Array;
  threshold: number;
}

/** The mask of training step `step` for a network of `neurons` neurons. */
export function dropoutMask(c: DropoutConfig, step: number, neurons: number, inputs: number, outputs: number): DropoutMask {
  const stepKey = dropoutStepKey(c.seed, step);
  const keys = new Uint32Array(neurons);
  for (let j = inputs; j < neurons - outputs; j++) keys[j] = dropoutNeuronKey(stepKey, j);
  return { firstOutput: neurons - outputs, inputs, scale: dropoutScale(c.rate), keys, threshold: dropoutThreshold(c.rate) };
}
