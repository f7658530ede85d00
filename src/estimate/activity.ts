/**
 * Per-sample activity of a network over a set of samples: σ(a_i) (inputs: their value) and the error
 * δ_j = ∂(mean loss)/∂a_j of every neuron, as the engines return them from
 * `gradients(batch, { activity: true })`. The correlation of Def. 4.6 (rewire/correlation.ts), the
 * taylor and wanda criteria (taylor.ts) and eq. 4.8's new weights all read it.
 *
 * Legend: k neurons, n inputs, S samples; arrays are neuron-major, value of neuron i for sample s at
 * [i·S + s] (the engine layout, engine/types.ts).
 */
import type { GradientResult } from "../engine/types.js";
import { ShapeError } from "../util/errors.js";

/** Per-sample outputs and errors of every neuron for a set of S samples (one batch or several). */
export interface Activity {
  readonly neurons: number;
  readonly inputs: number;
  /** S: samples per neuron row. */
  readonly samples: number;
  /** σ(a_i) (inputs: their value), k·S neuron-major. */
  readonly outputs: Float32Array;
  /** δ_j = ∂(mean loss)/∂a_j, k·S neuron-major (input rows are never read as targets). */
  readonly errors: Float32Array;
}

/** Wrap an engine's `gradients(batch, { activity: true })` result (throws if activity is missing). */
export function activityFrom(net: { neurons: number; inputs: number }, batchSize: number, result: GradientResult): Activity {
  const { outputs, errors } = result;
  if (outputs === undefined || errors === undefined) {
    throw new ShapeError("the gradient result carries no per-sample activity", "call engine.gradients(batch, { activity: true })");
  }
  const a: Activity = { neurons: net.neurons, inputs: net.inputs, samples: batchSize, outputs, errors };
  checkActivity(a);
  return a;
}

/** Refuses an activity whose arrays are not neurons·samples long (ShapeError). */
export function checkActivity(a: Activity): void {
  const size = a.neurons * a.samples;
  if (!Number.isInteger(a.samples) || a.samples < 1) throw new ShapeError(`activity needs at least one sample, got ${a.samples}`);
  if (a.outputs.length !== size) throw new ShapeError(`activity outputs hold ${a.outputs.length} values, expected neurons·samples = ${a.neurons}·${a.samples} = ${size}`);
  if (a.errors.length !== size) throw new ShapeError(`activity errors hold ${a.errors.length} values, expected neurons·samples = ${a.neurons}·${a.samples} = ${size}`);
}

/**
 * Concatenate the samples of several batches of the same network (correlation over several
 * batches, §4.3): inner products and squared norms over the result are the sums over the batches.
 */
export function stackActivity(list: readonly Activity[]): Activity {
  if (list.length === 0) throw new ShapeError("stackActivity needs at least one batch of activity");
  const { neurons: k, inputs: n } = list[0]!;
  let S = 0;
  for (const a of list) {
    if (a.neurons !== k || a.inputs !== n) throw new ShapeError(`cannot stack activity of ${a.neurons} neurons (${a.inputs} inputs) onto ${k} neurons (${n} inputs)`);
    checkActivity(a);
    S += a.samples;
  }
  const outputs = new Float32Array(k * S);
  const errors = new Float32Array(k * S);
  let at = 0;
  for (const a of list) {
    for (let i = 0; i < k; i++) {
      outputs.set(a.outputs.subarray(i * a.samples, (i + 1) * a.samples), i * S + at);
      errors.set(a.errors.subarray(i * a.samples, (i + 1) * a.samples), i * S + at);
    }
    at += a.samples;
  }
  return { neurons: k, inputs: n, samples: S, outputs, errors };
}

/**
 * A compact copy of samples [from, from + count): the searches cost O(samples) per pair, so large
 * networks search on a sub-batch (e.g. 64–128 of 512 samples); the correlation is then an estimate
 * over fewer samples, which is what a smaller batch would have given.
 */
export function subBatch(a: Activity, count: number, from = 0): Activity {
  if (!(Number.isInteger(count) && Number.isInteger(from) && count >= 1 && from >= 0 && from + count <= a.samples)) {
    throw new ShapeError(`sub-batch [${from}, ${from + count}) is not inside the ${a.samples} samples`);
  }
  if (from === 0 && count === a.samples) return a;
  const k = a.neurons;
  const outputs = new Float32Array(k * count);
  const errors = new Float32Array(k * count);
  for (let i = 0; i < k; i++) {
    const src = i * a.samples + from;
    outputs.set(a.outputs.subarray(src, src + count), i * count);
    errors.set(a.errors.subarray(src, src + count), i * count);
  }
  return { neurons: k, inputs: a.inputs, samples: count, outputs, errors };
}

/** Euclidean norms of every row of a k·S neuron-major array, in float64. */
export function rowNorms(values: Float32Array, rows: number, samples: number, into: Float64Array = new Float64Array(rows)): Float64Array {
  for (let i = 0; i < rows; i++) {
    const base = i * samples;
    let s = 0;
    for (let b = 0; b < samples; b++) {
      const v = values[base + b]!;
      s += v * v;
    }
    into[i] = Math.sqrt(s);
  }
  return into;
}
