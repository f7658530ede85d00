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
import { ShapeError } from "../util/errors.js";
import { checkActivity, type Activity } from "../estimate/activity.js";

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

  /** Adds one batch's sums for every pair (the activity must be of the same network). */
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
