/**
 * Acceptance: `sparsewire eval --gradients` on a model written by another program (plain Python)
 * matches an independent autograd implementation (PyTorch, float64) to float32 precision.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readTextCorpus } from "../src/data/files.js";
import { decodeSymbols } from "../src/data/text.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/src/cli/main.js");
const shared = resolve(root, "../shared/data/text/alice29.txt.gz");

interface GradientFile {
  bitsPerSymbol: number;
  windows: number;
  gradients: { weights: number[][]; biases: number[] };
}

test("eval --gradients matches PyTorch autograd on models written by Python", async () => {
  const work = mkdtempSync(join(tmpdir(), "sparsewire-grad-"));
  // Out-of-domain English text (Alice), cleaned by our rule; 3,000 symbols = 2,980 windows.
  const alice = await readTextCorpus(shared);
  const text = join(work, "alice.txt");
  writeFileSync(text, decodeSymbols(alice.symbols.subarray(10_000, 13_000)));
  for (const shape of [{ context: 4, neurons: 400, inDegree: 9 }, { context: 20, neurons: 1700, inDegree: 29 }]) {
    const dir = join(work, `m${shape.neurons}`);
    execFileSync("python3", [join(root, "test/fixtures/write_model.py"), dir, "--context", String(shape.context), "--neurons", String(shape.neurons), "--in-degree", String(shape.inDegree), "--seed", "11"]);
    const torchOut = JSON.parse(execFileSync("/usr/bin/python3", [join(root, "test/fixtures/torch_gradients.py"), join(dir, "model.json"), text], { maxBuffer: 1 << 28 }).toString()) as GradientFile;
    for (const [model, engine] of [["model.safetensors", "wasm"], ["model.json", "reference"]] as const) {
      const out = join(dir, `grad-${engine}.json`);
      execFileSync(process.execPath, [cli, "eval", "--model", join(dir, model), "--text", text, "--gradients", out, "--engine", engine, "--batch", "500"]);
      const ours = JSON.parse(readFileSync(out, "utf8")) as GradientFile;
      const label = `${shape.neurons} neurons, ${engine}`;
      assert.equal(ours.windows, torchOut.windows);
      assert.ok(Math.abs(ours.bitsPerSymbol - torchOut.bitsPerSymbol) < 2e-6 * torchOut.bitsPerSymbol, `${label}: loss ${ours.bitsPerSymbol} vs ${torchOut.bitsPerSymbol}`);
      // float32 precision: sums of ~10⁴ float32 terms, so allow relative 1e-4 of the largest gradient scale.
      let scale = 0;
      for (const row of torchOut.gradients.weights) for (const g of row) scale = Math.max(scale, Math.abs(g));
      let worst = 0;
      let where = "";
      torchOut.gradients.weights.forEach((row, i) =>
        row.forEach((g, e) => {
          const r = Math.abs(ours.gradients.weights[i]![e]! - g) / (1e-5 * scale + 1e-4 * Math.abs(g));
          if (r > worst) { worst = r; where = `weight ${i}.${e}: ${ours.gradients.weights[i]![e]} vs ${g}`; }
        }),
      );
      torchOut.gradients.biases.forEach((g, i) => {
        const r = Math.abs(ours.gradients.biases[i]! - g) / (1e-5 * scale + 1e-4 * Math.abs(g));
        if (r > worst) { worst = r; where = `bias ${i}: ${ours.gradients.biases[i]} vs ${g}`; }
      });
      assert.ok(worst <= 1, `${label}: worst ${where} (ratio ${worst.toFixed(2)})`);
      assert.equal(ours.gradients.weights.length, shape.neurons);
      assert.deepEqual(ours.gradients.weights[0], []);
    }
  }
});
