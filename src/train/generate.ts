/**
 * Text generation from a trained character model: each step feeds the last `context` symbols of
 * every sample, takes the next-symbol probabilities (predict.ts) and samples one symbol, for all
 * samples in one batched forward pass. Deterministic: the same seed gives the same text. Browser-safe.
 */
import type { Engine } from "../engine/types.js";
import { SPACE_SYMBOL } from "../data/text.js";
import { UsageError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { nextSymbolProbabilities } from "./predict.js";
import { ALPHABET_SIZE, contextOf } from "./text.js";

/** How generateText samples: length, temperature, top-k, parallel samples and the random stream. */
export interface GenerateOptions {
  /** Symbols to generate after the prompt, per sample. */
  length: number;
  /** Softmax temperature: 1 = the model's distribution, lower = sharper, 0 = always the most likely (greedy). */
  temperature: number;
  /** Sample only among the k most likely symbols (0 or ≥ 27: all). */
  topK: number;
  /** Independent samples generated side by side (one batched forward pass per symbol). */
  samples: number;
  rng: Rng;
}

/**
 * The prompt (symbols 0..26) followed by `length` generated symbols, for each sample. A prompt shorter
 * than the context is padded on the left with spaces, the symbol that separates words.
 */
export function generateText(engine: Pick<Engine, "predict" | "network">, prompt: Uint8Array, o: GenerateOptions): Uint8Array[] {
  const context = contextOf(engine.network);
  if (!(Number.isInteger(o.length) && o.length >= 0)) throw new UsageError(`length must be a whole number ≥ 0, got ${o.length}`);
  if (!(Number.isInteger(o.samples) && o.samples >= 1)) throw new UsageError(`samples must be a positive integer, got ${o.samples}`);
  if (!(Number.isInteger(o.topK) && o.topK >= 0)) throw new UsageError(`topK must be a whole number ≥ 0, got ${o.topK}`);
  const S = o.samples;
  const texts = Array.from({ length: S }, () => {
    const t = new Uint8Array(context + prompt.length + o.length).fill(SPACE_SYMBOL);
    t.set(prompt, context);
    return t;
  });
  const windows = new Uint8Array(S * context);
  const m = ALPHABET_SIZE;
  const order = new Int32Array(m);
  for (let step = 0; step < o.length; step++) {
    const at = context + prompt.length + step;
    for (let s = 0; s < S; s++) windows.set(texts[s]!.subarray(at - context, at), s * context);
    const p = nextSymbolProbabilities(engine, windows, S, o.temperature);
    for (let s = 0; s < S; s++) {
      const row = p.subarray(s * m, (s + 1) * m);
      // Top-k: keep the k most likely (ties: the smaller symbol), renormalised by the draw below.
      for (let q = 0; q < m; q++) order[q] = q;
      order.sort((a, b) => row[b]! - row[a]! || a - b);
      const keep = o.topK > 0 && o.topK < m ? o.topK : m;
      let total = 0;
      for (let q = 0; q < keep; q++) total += row[order[q]!]!;
      let u = o.rng.nextFloat() * total;
      let chosen = order[keep - 1]!;
      for (let q = 0; q < keep; q++) {
        u -= row[order[q]!]!;
        if (u < 0) {
          chosen = order[q]!;
          break;
        }
      }
      texts[s]![at] = chosen;
    }
  }
  return texts.map((t) => t.subarray(context));
}
