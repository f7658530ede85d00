/**
 * Training samples for next-symbol prediction (§4.6), drawn on the fly from a corpus held as one
 * byte per symbol: a sample at position t (t >= context) is the previous `context` symbols,
 * one-hot encoded as input neuron p·27 + s for context position p (0 = oldest) and symbol s
 * ("the past 20 symbols, so the network has 540 input neurons"), and its target is symbol t.
 * No window is ever materialised for the whole corpus, so memory stays at one byte per symbol.
 * Browser-safe: no Node imports.
 */
import { DataError, ShapeError, UsageError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";

/** §4.6: "a one-hot encoding of the past 20 symbols". */
export const DEFAULT_CONTEXT = 20;

/** Default contiguous train / validation / test fractions. */
export const DEFAULT_SPLIT: readonly number[] = [0.9, 0.05, 0.05];

/** Names of the first three parts `splitCorpus` makes: training, validation, test. */
export type SplitName = "train" | "valid" | "test";

/** One contiguous part of a corpus; `symbols` is a view into the corpus, not a copy. */
export interface TextSplit {
  symbols: Uint8Array;
  /** "train", "valid", "test" for the first three parts, "part4", "part5", … after that. */
  name: SplitName | `part${number}`;
}

const SPLIT_NAMES: readonly SplitName[] = ["train", "valid", "test"];
const SPLIT_WORDS: Readonly<Record<SplitName, string>> = { train: "training", valid: "validation", test: "test" };

function checkContext(context: number): void {
  if (!Number.isInteger(context) || context < 1) {
    throw new UsageError(`context must be a positive integer, got ${context}`);
  }
}

/** Number of samples (windows) in a corpus: one per position t in [context, length). */
export function windowCount(symbols: Uint8Array, context: number): number {
  return Math.max(0, symbols.length - context);
}

/**
 * Splits a corpus into contiguous parts (train first), as subarray views. Splitting contiguously
 * rather than by random windows keeps validation text unseen: a random split would put windows
 * overlapping training windows in the validation set. Each part needs at least context + 1 symbols
 * (one window); windows never cross a part boundary.
 */
export function splitCorpus(
  symbols: Uint8Array,
  fractions: readonly number[] = DEFAULT_SPLIT,
  context: number = DEFAULT_CONTEXT,
): TextSplit[] {
  checkContext(context);
  if (fractions.length === 0) throw new UsageError("split fractions are empty; give e.g. 0.9,0.05,0.05");
  let sum = 0;
  for (const f of fractions) {
    if (!Number.isFinite(f) || f <= 0) {
      throw new UsageError(`split fractions must be positive, got ${fractions.join(",")}`);
    }
    sum += f;
  }
  if (Math.abs(sum - 1) > 1e-9) {
    throw new UsageError(`split fractions must sum to 1, got ${fractions.join(",")} (sum ${sum})`);
  }
  const total = symbols.length;
  const splits: TextSplit[] = [];
  let cumulative = 0;
  let start = 0;
  for (let i = 0; i < fractions.length; i++) {
    cumulative += fractions[i];
    // Round cumulative boundaries (not part sizes) so the parts always add up to the corpus.
    const end = i === fractions.length - 1 ? total : Math.min(total, Math.round(cumulative * total));
    const name: TextSplit["name"] = i < SPLIT_NAMES.length ? SPLIT_NAMES[i] : `part${i + 1}`;
    const size = end - start;
    if (size < context + 1) {
      const word = i < SPLIT_NAMES.length ? SPLIT_WORDS[SPLIT_NAMES[i]] : name;
      const percent = +(fractions[i] * 100).toFixed(3);
      throw new DataError(
        `corpus has ${total} symbols: the ${word} split (${percent} %) holds ${size} symbols, ` +
          `fewer than context + 1 = ${context + 1}; use a longer text`,
      );
    }
    splits.push({ symbols: symbols.subarray(start, end), name });
    start = end;
  }
  return splits;
}

/**
 * Fills a batch of one-hot windows. For sample b at position t:
 *   active[b·context + p] = p·alphabetSize + symbols[t − context + p]   (p = 0 is the oldest)
 *   targets[b] = symbols[t]
 * `active` is the `one-hot` BatchInputs layout of the engines (perSample = context).
 */
export function fillOneHotWindows(
  symbols: Uint8Array,
  context: number,
  positions: ArrayLike<number>,
  count: number,
  active: Int32Array,
  targets: Int32Array,
  alphabetSize: number = 27,
): void {
  checkContext(context);
  if (!Number.isInteger(count) || count < 0 || count > positions.length) {
    throw new ShapeError(`batch count ${count} is not in 0..${positions.length} (the positions given)`);
  }
  if (active.length < count * context) {
    throw new ShapeError(`active buffer holds ${active.length} entries, batch needs ${count} × ${context}`);
  }
  if (targets.length < count) {
    throw new ShapeError(`targets buffer holds ${targets.length} entries, batch needs ${count}`);
  }
  const len = symbols.length;
  for (let b = 0; b < count; b++) {
    const t = positions[b];
    if (!Number.isInteger(t) || t < context || t >= len) {
      throw new DataError(`window position ${t} is outside ${context}..${len - 1} (context ${context}, ${len} symbols)`);
    }
    const base = b * context;
    const first = t - context;
    for (let p = 0; p < context; p++) {
      const s = symbols[first + p];
      // An out-of-alphabet symbol would address an input neuron of the next context slot.
      if (s >= alphabetSize) throw outsideAlphabet(s, first + p, alphabetSize);
      active[base + p] = p * alphabetSize + s;
    }
    const target = symbols[t];
    if (target >= alphabetSize) throw outsideAlphabet(target, t, alphabetSize);
    targets[b] = target;
  }
}

function outsideAlphabet(symbol: number, position: number, alphabetSize: number): DataError {
  return new DataError(`symbol ${symbol} at position ${position} is outside the ${alphabetSize}-symbol alphabet`);
}

/** Draws window positions t uniformly from [context, length), from a seeded Rng (deterministic). */
export class WindowSampler {
  readonly symbols: Uint8Array;
  readonly context: number;
  private readonly rng: Rng;

  constructor(symbols: Uint8Array, context: number, rng: Rng) {
    checkContext(context);
    if (symbols.length < context + 1) {
      throw new DataError(`text has ${symbols.length} symbols, fewer than context + 1 = ${context + 1}; use a longer text`);
    }
    this.symbols = symbols;
    this.context = context;
    this.rng = rng;
  }

  /** Number of distinct windows the sampler draws from. */
  get windows(): number {
    return this.symbols.length - this.context;
  }

  /** Writes `count` positions into positions[0..count). */
  sample(positions: Int32Array, count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > positions.length) {
      throw new ShapeError(`sample count ${count} is not in 0..${positions.length} (the positions buffer)`);
    }
    const range = this.symbols.length - this.context;
    for (let b = 0; b < count; b++) positions[b] = this.context + this.rng.nextInt(range);
  }
}

/**
 * Every window t in [context, length), in order, in batches of at most batchSize (the last batch
 * may be shorter). For evaluation: the loss over all windows, not a sample of them. The yielded
 * `positions` buffer is reused between batches; copy it if you keep it.
 */
export function sequentialPositions(
  symbols: Uint8Array,
  context: number,
  batchSize: number,
): Generator<{ positions: Int32Array; count: number }, void, undefined> {
  // Validate now, not at the first next(), so a bad call fails where it is made.
  checkContext(context);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new UsageError(`batch size must be a positive integer, got ${batchSize}`);
  }
  return sequentialBatches(symbols.length, context, batchSize);
}

function* sequentialBatches(
  end: number,
  context: number,
  batchSize: number,
): Generator<{ positions: Int32Array; count: number }, void, undefined> {
  const positions = new Int32Array(batchSize);
  let t = context;
  while (t < end) {
    const count = Math.min(batchSize, end - t);
    for (let b = 0; b < count; b++) positions[b] = t + b;
    t += count;
    yield { positions, count };
  }
}
