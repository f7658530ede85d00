/**
 * Character prediction as in §4.6: one-hot windows of `context` symbols in, the next symbol out.
 * Batches are filled on the fly from the corpus (one byte per symbol), never materialised.
 */
import type { Batch, Engine } from "../engine/types.js";
import { fillOneHotWindows, sequentialPositions, WindowSampler } from "../data/windows.js";
import { TEXT_ALPHABET } from "../data/text.js";
import type { Network, Task } from "../graph/network.js";
import { DataError, ShapeError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import type { BatchSampler, Evaluation, TrainingData } from "./data.js";

/** Symbols of the text alphabet (27: a–z and the space, §4.6): inputs per context position and outputs. */
export const ALPHABET_SIZE = TEXT_ALPHABET.length;

/** The next-symbol task of §4.6 for `context` symbols, as stored in a model file. */
export function textTask(context: number): Task {
  return { kind: "next-symbol", alphabet: TEXT_ALPHABET, context };
}

/** Network shape for a text task: 27·context inputs, 27 outputs (§4.6). */
export function textShape(context: number): { inputs: number; outputs: number } {
  return { inputs: ALPHABET_SIZE * context, outputs: ALPHABET_SIZE };
}

/** Refuse a network whose inputs/outputs do not fit the text task. */
export function checkTextNetwork(net: Network, context: number): void {
  const { inputs, outputs } = textShape(context);
  if (net.inputs !== inputs || net.outputs !== outputs) {
    throw new ShapeError(
      `network has ${net.inputs} inputs and ${net.outputs} outputs, but a ${ALPHABET_SIZE}-symbol text task with context ${context} needs ${inputs} inputs and ${outputs} outputs`,
    );
  }
}

/** Context length stored in a network's task (next-symbol networks only). */
export function contextOf(net: Network): number {
  if (net.task.kind === "next-symbol") return net.task.context;
  if (net.inputs % ALPHABET_SIZE === 0 && net.outputs === ALPHABET_SIZE) return net.inputs / ALPHABET_SIZE;
  throw new ShapeError(`network task is "${net.task.kind}", not next-symbol text prediction`);
}

/** A reusable one-hot batch for text windows. */
export class TextBatch {
  readonly batch: Batch;
  readonly positions: Int32Array;
  private readonly active: Int32Array;
  private readonly classes: Int32Array;
  readonly capacity: number;
  readonly context: number;

  constructor(capacity: number, context: number) {
    this.capacity = capacity;
    this.context = context;
    this.positions = new Int32Array(capacity);
    this.active = new Int32Array(capacity * context);
    this.classes = new Int32Array(capacity);
    this.batch = { size: capacity, inputs: { kind: "one-hot", perSample: context, active: this.active }, targets: { kind: "class", classes: this.classes } };
  }

  /** Fill from `count` positions of `symbols`; returns a Batch view of that size. */
  fill(symbols: Uint8Array, positions: ArrayLike<number>, count: number): Batch {
    fillOneHotWindows(symbols, this.context, positions, count, this.active, this.classes, ALPHABET_SIZE);
    if (count === this.capacity) return this.batch;
    return {
      size: count,
      inputs: { kind: "one-hot", perSample: this.context, active: this.active.subarray(0, count * this.context) },
      targets: { kind: "class", classes: this.classes.subarray(0, count) },
    };
  }

  /** Fill with `capacity` windows drawn by the sampler. */
  sample(sampler: WindowSampler): Batch {
    sampler.sample(this.positions, this.capacity);
    return this.fill(sampler.symbols, this.positions, this.capacity);
  }
}

/** Text windows as training data (§4.6): random windows of `train`, validation on `valid`. */
export class TextData implements TrainingData {
  readonly outputs = ALPHABET_SIZE;
  constructor(
    readonly train: Uint8Array,
    readonly valid: Uint8Array,
    readonly context: number,
  ) {}

  sampler(rng: Rng, size: number): BatchSampler {
    const windows = new WindowSampler(this.train, this.context, rng);
    const holders: TextBatch[] = [];
    return {
      next: (holder = 0) => {
        while (holders.length <= holder) holders.push(new TextBatch(size, this.context));
        return holders[holder]!.sample(windows);
      },
    };
  }

  validate(engine: Pick<Engine, "evaluate">, batch: number, count: number, how: "spread" | "first"): TextEvaluation {
    return how === "spread" ? evaluateTextSample(engine, this.valid, this.context, batch, count) : evaluateText(engine, this.valid, this.context, batch, count);
  }
}

/** A text evaluation (`evaluateText`): the evaluation of any data (data.ts), over windows. */
export type TextEvaluation = Evaluation;

/**
 * Evaluate on `windows` windows spread evenly over `symbols` (all of them if there are no more):
 * a fixed sample for periodic validation. The first windows of a split are not a fair sample (on
 * the text8 prefix they are easier than the rest: 2.33 against 2.50 bits/char for the whole split).
 */
export function evaluateTextSample(engine: Pick<Engine, "evaluate">, symbols: Uint8Array, context: number, batchSize: number, windows: number): TextEvaluation {
  const total = Math.max(0, symbols.length - context);
  if (windows >= total) return evaluateText(engine, symbols, context, batchSize);
  const holder = new TextBatch(batchSize, context);
  const positions = new Int32Array(batchSize);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < windows; start += batchSize) {
    const take = Math.min(batchSize, windows - start);
    for (let b = 0; b < take; b++) positions[b] = context + Math.floor(((start + b) * total) / windows);
    const r = engine.evaluate(holder.fill(symbols, positions, take));
    lossSum += r.lossSum;
    correct += r.correct;
  }
  return { bitsPerSymbol: lossSum / windows, windows, accuracy: correct / windows };
}

/**
 * Evaluate on every window of `symbols` (or the first `maxWindows`), in order. The loss is summed in
 * float64 so the mean does not depend on the batch size beyond float32 rounding inside a batch. Any
 * model with an engine's `evaluate` will do (the dense baseline of the experiments uses it too).
 */
export function evaluateText(engine: Pick<Engine, "evaluate">, symbols: Uint8Array, context: number, batchSize: number, maxWindows = Infinity): TextEvaluation {
  const holder = new TextBatch(batchSize, context);
  let lossSum = 0;
  let correct = 0;
  let windows = 0;
  for (const { positions, count } of sequentialPositions(symbols, context, batchSize)) {
    const take = Math.min(count, maxWindows - windows);
    if (take <= 0) break;
    const r = engine.evaluate(holder.fill(symbols, positions, take));
    lossSum += r.lossSum;
    correct += r.correct;
    windows += take;
  }
  return { bitsPerSymbol: lossSum / windows, windows, accuracy: correct / windows };
}

export function makeSampler(symbols: Uint8Array, context: number, rng: Rng): WindowSampler {
  return new WindowSampler(symbols, context, rng);
}

/** `count` random batches of `size` windows of `symbols`; refuses a text with fewer windows than one batch. */
export function estimationBatches(symbols: Uint8Array, context: number, count: number, size: number, rng: Rng, what: string): Batch[] {
  const windows = Math.max(0, symbols.length - context);
  if (windows < size) {
    throw new DataError(`${what} has ${windows} windows of context ${context}, fewer than one batch of ${size}`, "use a longer text or a smaller batch");
  }
  const sampler = new WindowSampler(symbols, context, rng);
  const batches: Batch[] = [];
  for (let i = 0; i < count; i++) batches.push(new TextBatch(size, context).sample(sampler));
  return batches;
}
