/**
 * Periodic validation reads a fixed sample of windows spread evenly over the split (issue 14 item 5),
 * not its first windows. A stub engine whose "loss" of a window is its target symbol shows exactly
 * which windows were read.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Batch } from "../src/engine/types.js";
import { evaluateText, evaluateTextSample } from "../src/train/text.js";

/** lossSum = the sum of the target symbols; correct = how many targets are 0. */
const stub = {
  evaluate(batch: Batch) {
    const t = batch.targets as { kind: "class"; classes: Int32Array | Uint8Array };
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < batch.size; b++) {
      lossSum += t.classes[b]!;
      if (t.classes[b] === 0) correct++;
    }
    return { lossSum, correct };
  },
} as unknown as Parameters<typeof evaluateText>[0];

test("evaluateTextSample: windows spread evenly over the split, in batches", () => {
  const context = 3;
  // The first half is all 1s, the second half all 25s: the first windows are not a fair sample.
  const symbols = new Uint8Array(10_003).map((_, i) => (i < 5_003 ? 1 : 25));
  const total = symbols.length - context;
  for (const [windows, batch] of [[100, 32], [1000, 7], [64, 64]] as const) {
    const sample = evaluateTextSample(stub, symbols, context, batch, windows);
    let expected = 0;
    for (let i = 0; i < windows; i++) expected += symbols[context + Math.floor((i * total) / windows)]!;
    assert.equal(sample.windows, windows);
    assert.equal(sample.bitsPerSymbol, expected / windows, `${windows} windows, batch ${batch}`);
    assert.ok(Math.abs(sample.bitsPerSymbol - 13) < 0.3, `about half of each half: ${sample.bitsPerSymbol}`);
    assert.equal(evaluateText(stub, symbols, context, batch, windows).bitsPerSymbol, 1, "the first windows alone would all be 1s");
  }
  // Asking for at least every window reads them all, like evaluateText.
  assert.deepEqual(evaluateTextSample(stub, symbols, context, 50, total + 5), evaluateText(stub, symbols, context, 50));
});
