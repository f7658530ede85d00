/**
 * Neuron correlation (Def. 4.6, §4.3): how strongly the output σ(a_i) of neuron i lines up with the
 * error δ_j = ∂L/∂a_j of neuron j over the samples of a batch,
 *
 *     corr(i, j) = ⟨σ(a_i), δ_j⟩ / (‖σ(a_i)‖·‖δ_j‖)        (0 when either norm is 0),
 *
 * and the un-normalised inner product ⟨σ(a_i), δ_j⟩. The engines return δ = ∂(MEAN loss)/∂a, so the
 * inner product over one batch is exactly ∂(mean loss)/∂w of an absent edge i → j of weight 0 — the
 * gradient RigL grows by (§4.3: "if ⟨σ(a_j), δ⟩ ≠ 0 it might be worthwhile to add the edge"). One
 * search therefore serves both growth criteria; only the normalisation differs.
 *
 * Several batches: the correlation "over several batches" is the correlation over the union of their
 * samples, i.e. inner products and squared norms are summed across batches. `stackActivity` does that
 * by concatenating samples (every search then works unchanged); `PairAccumulator` does it for a fixed
 * list of pairs without keeping the batches. Note that a summed inner product over m batches is m
 * times the mean of the per-batch gradients (each batch's δ already carries its own 1/B).
 *
 * Legend: k neurons, n inputs, S samples; per-sample arrays are neuron-major, value of neuron i for
 * sample s at [i·S + s] (the engine layout, types.ts).
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

/** ⟨σ(a_i), δ_j⟩ over the samples, in float64: ∂(mean loss)/∂w of an absent edge i → j. */
export function innerProduct(a: Activity, source: number, target: number): number {
  const S = a.samples;
  const x = source * S;
  const e = target * S;
  let s = 0;
  for (let b = 0; b < S; b++) s += a.outputs[x + b]! * a.errors[e + b]!;
  return s;
}

/** corr(i, j) of Def. 4.6 over the samples (0 when a norm is 0), in float64. */
export function correlation(a: Activity, source: number, target: number): number {
  const S = a.samples;
  const x = source * S;
  const e = target * S;
  let dot = 0;
  let xx = 0;
  let ee = 0;
  for (let b = 0; b < S; b++) {
    const u = a.outputs[x + b]!;
    const v = a.errors[e + b]!;
    dot += u * v;
    xx += u * u;
    ee += v * v;
  }
  return normalise(dot, Math.sqrt(xx), Math.sqrt(ee));
}

/** dot / (‖x‖·‖δ‖), 0 when a norm is 0 (an always-silent neuron or an error-free one has no correlation). */
export function normalise(dot: number, sourceNorm: number, targetNorm: number): number {
  const d = sourceNorm * targetNorm;
  return d > 0 ? dot / d : 0;
}

/**
 * Inner products and squared norms of a fixed list of pairs, summed over any number of batches
 * (same network, any batch sizes), without keeping the batches: re-score a few candidates over
 * more samples than the search used. O(pairs·S) per batch.
 */
export class PairAccumulator {
  readonly sources: Int32Array;
  readonly targets: Int32Array;
  /** Σ over batches of ⟨σ(a_i), δ_j⟩ per pair. */
  readonly inner: Float64Array;
  /** Σ over batches of ‖σ(a_i)‖² and ‖δ_j‖² per pair. */
  readonly sourceSquares: Float64Array;
  readonly targetSquares: Float64Array;
  batches = 0;
  samples = 0;

  constructor(sources: ArrayLike<number>, targets: ArrayLike<number>) {
    if (sources.length !== targets.length) throw new ShapeError(`${sources.length} sources but ${targets.length} targets`);
    this.sources = Int32Array.from(sources);
    this.targets = Int32Array.from(targets);
    this.inner = new Float64Array(sources.length);
    this.sourceSquares = new Float64Array(sources.length);
    this.targetSquares = new Float64Array(sources.length);
  }

  add(a: Activity): void {
    checkActivity(a);
    const S = a.samples;
    const { outputs, errors } = a;
    for (let p = 0; p < this.sources.length; p++) {
      const i = this.sources[p]!;
      const j = this.targets[p]!;
      if (!(i >= 0 && i < a.neurons && j >= a.inputs && j < a.neurons)) throw new ShapeError(`pair ${p} (${i} → ${j}) is outside the ${a.neurons} neurons or enters an input`);
      const x = i * S;
      const e = j * S;
      let dot = 0;
      let xx = 0;
      let ee = 0;
      for (let b = 0; b < S; b++) {
        const u = outputs[x + b]!;
        const v = errors[e + b]!;
        dot += u * v;
        xx += u * u;
        ee += v * v;
      }
      this.inner[p]! += dot;
      this.sourceSquares[p]! += xx;
      this.targetSquares[p]! += ee;
    }
    this.batches++;
    this.samples += S;
  }

  /** corr over all samples added so far (Def. 4.6 over the union of the batches). */
  correlation(pair: number): number {
    return normalise(this.inner[pair]!, Math.sqrt(this.sourceSquares[pair]!), Math.sqrt(this.targetSquares[pair]!));
  }

  /** Mean over the added batches of ∂(mean loss)/∂w: the RigL score averaged over batches. */
  meanGradient(pair: number): number {
    return this.batches > 0 ? this.inner[pair]! / this.batches : 0;
  }
}
