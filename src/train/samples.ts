/**
 * Labelled samples as training data (issue 15): random samples of the training set in dense
 * batches (inputs neuron-major, as the engines read them), softmax cross-entropy against the class
 * or squared error against the targets, and evaluation over the validation set. Browser-safe.
 */
import type { Batch, ClassLoss, Engine } from "../engine/types.js";
import type { SampleSet } from "../data/samples.js";
import type { Rng } from "../util/rng.js";
import { UsageError } from "../util/errors.js";
import type { BatchSampler, Evaluation, SamplerPosition, TrainingData } from "./data.js";

/** Fills `size` samples (by index) of `set` into one batch's buffers. */
class SampleBatch {
  private readonly values: Float32Array;
  private readonly classes: Int32Array;
  private readonly targets: Float32Array;
  constructor(
    private readonly set: SampleSet,
    readonly capacity: number,
    private readonly loss: ClassLoss = "cross-entropy",
  ) {
    this.values = new Float32Array(set.featureCount * capacity);
    this.classes = new Int32Array(capacity);
    this.targets = new Float32Array(set.outputs * capacity);
  }

  fill(index: ArrayLike<number>, count: number): Batch {
    const { set } = this;
    const f = set.featureCount;
    const m = set.outputs;
    // Neuron-major: values[i·B + b] is feature i of sample b (engine/types.ts BatchInputs).
    const values = count === this.capacity ? this.values : this.values.subarray(0, f * count);
    for (let b = 0; b < count; b++) {
      const at = index[b]! * f;
      for (let i = 0; i < f; i++) values[i * count + b] = set.features[at + i]!;
    }
    if (set.labels) {
      const classes = this.classes.subarray(0, count);
      for (let b = 0; b < count; b++) classes[b] = set.labels[index[b]!]!;
      return { size: count, inputs: { kind: "dense", values }, targets: { kind: "class", classes, ...(this.loss !== "cross-entropy" ? { loss: this.loss } : {}) } };
    }
    const targets = this.targets.subarray(0, m * count);
    for (let b = 0; b < count; b++) for (let o = 0; o < m; o++) targets[o * count + b] = set.targets![index[b]! * m + o]!;
    return { size: count, inputs: { kind: "dense", values }, targets: { kind: "values", values: targets } };
  }
}

/**
 * Loss (bits per sample for classes under cross-entropy, squared error for values or sigmoid
 * outputs) and accuracy over `count` samples of `set` (spread evenly, or the first).
 */
export function evaluateSamples(engine: Pick<Engine, "evaluate">, set: SampleSet, batch: number, count = Infinity, how: "spread" | "first" = "first", loss: ClassLoss = "cross-entropy"): Evaluation {
  const n = Math.min(count, set.count);
  const holder = new SampleBatch(set, Math.min(batch, n), loss);
  const index = new Int32Array(holder.capacity);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += holder.capacity) {
    const take = Math.min(holder.capacity, n - start);
    for (let b = 0; b < take; b++) index[b] = how === "spread" && n < set.count ? Math.floor(((start + b) * set.count) / n) : start + b;
    const r = engine.evaluate(holder.fill(index, take));
    lossSum += r.lossSum;
    correct += r.correct;
  }
  return { bitsPerSymbol: lossSum / n, windows: n, accuracy: set.labels ? correct / n : NaN };
}

/** How training samples are drawn and scored. */
export interface SampleDataOptions {
  /** Loss of class targets (default cross-entropy). */
  loss?: ClassLoss;
  /**
   * random (default): every sample of a batch drawn uniformly with replacement. epochs: the
   * training set shuffled (Fisher–Yates) at the start of every epoch and read in batches, as SET's
   * and most MLP code do; a batch that crosses an epoch's end continues in the next shuffle.
   */
  order?: "random" | "epochs";
}

/** Labelled samples as TrainingData: training samples drawn uniformly with replacement, or by shuffled epochs. */
export class SampleData implements TrainingData {
  readonly outputs: number;
  /** Squared error has no uniform guess to scale: only a non-finite loss stops a regression. */
  readonly divergence: number | undefined;
  private readonly loss: ClassLoss;
  private readonly order: "random" | "epochs";
  constructor(
    readonly train: SampleSet,
    readonly valid: SampleSet,
    options: SampleDataOptions = {},
  ) {
    this.outputs = train.outputs;
    this.loss = options.loss ?? "cross-entropy";
    this.order = options.order ?? "random";
    this.divergence = train.labels && this.loss === "cross-entropy" ? undefined : Infinity;
  }

  sampler(rng: Rng, size: number): BatchSampler {
    const holders: SampleBatch[] = [];
    const index = new Int32Array(size);
    const count = this.train.count;
    const permutation = new Int32Array(count);
    let at = count; // next place in the current epoch's shuffle (count: shuffle again)
    return {
      next: (holder = 0) => {
        while (holders.length <= holder) holders.push(new SampleBatch(this.train, size, this.loss));
        if (this.order === "random") {
          for (let b = 0; b < size; b++) index[b] = rng.nextInt(count);
        } else {
          for (let b = 0; b < size; b++) {
            if (at === count) {
              for (let i = 0; i < count; i++) permutation[i] = i;
              rng.shuffle(permutation);
              at = 0;
            }
            index[b] = permutation[at++]!;
          }
        }
        return holders[holder]!.fill(index, size);
      },
      ...(this.order === "epochs"
        ? {
            position: (): SamplerPosition => ({ at, permutation: permutation.slice() }),
            setPosition: (p: SamplerPosition) => {
              if (p.permutation.length !== count || !(Number.isInteger(p.at) && p.at >= 0 && p.at <= count)) {
                throw new UsageError(`sampler position: a permutation of ${p.permutation.length} samples at ${p.at}, but the training set has ${count}`);
              }
              // The permutation must be one of 0..count-1 (a checkpoint of other data is refused, not replayed).
              const seen = new Uint8Array(count);
              for (const i of p.permutation) {
                if (!(i >= 0 && i < count) || seen[i]) throw new UsageError(`sampler position: not a permutation of the ${count} training samples`);
                seen[i] = 1;
              }
              permutation.set(p.permutation);
              at = p.at;
            },
          }
        : {}),
    };
  }

  validate(engine: Pick<Engine, "evaluate">, batch: number, count: number, how: "spread" | "first"): Evaluation {
    return evaluateSamples(engine, this.valid, batch, count, how, this.loss);
  }
}
