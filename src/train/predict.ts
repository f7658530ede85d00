/**
 * Next-symbol probabilities of a trained text network, the step every generator takes: for each
 * context window, softmax(logits / temperature) over the 27 symbols. Browser-safe.
 */
import type { Engine } from "../engine/types.js";
import { softmaxStats } from "../engine/softmax.js";
import { UsageError } from "../util/errors.js";
import { contextOf, TextBatch } from "./text.js";

/**
 * Probabilities of the next symbol after each of `count` windows of `context` symbols (symbol
 * indices, window-major in `windows`), as count·27 numbers, window-major. Temperature 1 is the
 * model's own distribution; lower sharpens it; 0 puts all mass on the arg-max (greedy).
 */
export function nextSymbolProbabilities(engine: Pick<Engine, "predict" | "network">, windows: Uint8Array, count: number, temperature = 1): Float64Array {
  const context = contextOf(engine.network);
  if (!(Number.isInteger(count) && count >= 1) || windows.length !== count * context) {
    throw new UsageError(`nextSymbolProbabilities: ${windows.length} symbols are not ${count} windows of context ${context}`);
  }
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw new UsageError(`temperature must be a finite number ≥ 0, got ${temperature}`);
  const batch = new TextBatch(count, context);
  // Each window of C symbols is followed by a dummy target; a window's position is its target's index.
  const symbols = new Uint8Array(count * (context + 1));
  const positions = new Int32Array(count);
  for (let b = 0; b < count; b++) {
    symbols.set(windows.subarray(b * context, (b + 1) * context), b * (context + 1));
    positions[b] = b * (context + 1) + context;
  }
  const logits = engine.predict(batch.fill(symbols, positions, count));
  const m = engine.network.outputs;
  const out = new Float64Array(count * m);
  for (let b = 0; b < count; b++) {
    if (temperature === 0) {
      out[b * m + softmaxStats(logits, b, count, m).arg] = 1;
      continue;
    }
    const scaled = new Float64Array(m);
    for (let o = 0; o < m; o++) scaled[o] = logits[o * count + b]! / temperature;
    const stats = softmaxStats(scaled, 0, 1, m);
    for (let o = 0; o < m; o++) out[b * m + o] = Math.exp(scaled[o]! - stats.max - stats.logSum);
  }
  return out;
}
