/**
 * What the training loop trains on, whatever the data: random training batches, and loss and
 * accuracy over validation samples. Text windows (train/text.ts `TextData`) and labelled samples
 * (train/samples.ts `SampleData`: images, table rows) implement it. Browser-safe.
 */
import type { Batch, Engine } from "../engine/types.js";
import type { Rng } from "../util/rng.js";

/** Random training batches drawn with one generator (its state is the sampler's whole state). */
export interface BatchSampler {
  /**
   * The next batch. `holder` picks the buffers it is written into (default 0): batches from
   * different holders stay valid together (a rewiring round takes several at once).
   */
  next(holder?: number): Batch;
  /**
   * Where the sampler stands beyond its generator (shuffled epochs: the current permutation and the
   * place in it), for checkpoints; absent for samplers whose generator is their whole state.
   */
  position?(): SamplerPosition;
  /** Continue from a `position()` of a sampler of the same data and batch size. */
  setPosition?(position: SamplerPosition): void;
}

/** A sampler's place in its current epoch: the epoch's permutation of the training samples and the next index into it. */
export interface SamplerPosition {
  at: number;
  permutation: Int32Array;
}

/** Training data for `trainOn`: a sampler of training batches and an evaluation of validation samples. */
export interface TrainingData {
  /** Output neurons the data needs (classes, or target values): the divergence bound uses log₂ of it. */
  readonly outputs: number;
  /** A batch loss above this stops training as diverged (default: 100× the uniform guess log₂ outputs). */
  readonly divergence?: number | undefined;
  /** A sampler of random training batches of `size` samples, drawing with `rng`. */
  sampler(rng: Rng, size: number): BatchSampler;
  /**
   * Loss (bits per sample) and accuracy on validation samples: `count` of them spread evenly over the
   * set ("spread", periodic checks) or the first `count` ("first"); Infinity reads them all.
   */
  validate(engine: Pick<Engine, "evaluate">, batch: number, count: number, how: "spread" | "first"): Evaluation;
}

/** Loss and accuracy over evaluated samples (text: windows). */
export interface Evaluation {
  /** Mean loss in bits per sample (cross-entropy; text: bits per symbol). */
  bitsPerSymbol: number;
  /** Samples evaluated. */
  windows: number;
  /** Share of samples whose most likely class is right. */
  accuracy: number;
}
