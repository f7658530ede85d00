/**
 * Round-trip properties of every model file format at real sizes, through the public save and load
 * functions (issue 10: an 8-bit quantised .safetensors file loaded as a different network because
 * readFileSync's Buffer made `slice()` a view; the encoder tests, which never touch the disk, missed
 * it). For networks from 30 to 1,700 neurons, in-degree 1 to 58, random and trained, with sorted and
 * shuffled slots: float JSON and safetensors, quantised JSON and safetensors (version 2, written) and
 * version 1 safetensors (read only) × bits 2–8 × scale network/neuron × rule utility/mse/max. Each
 * loaded network must equal the saved one bit for bit and evaluate to exactly the same loss; and
 * `eval` of a file written by `quantize` must print the "after" figure `quantize` printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { checkReadBack, decodeModel, encodeModel, loadModel, readModelBytes, saveNetwork } from "../src/io/model-file.js";
import { writeFileAtomic } from "../src/io/atomic.js";
import { loadQuantizedModel, saveQuantizedNetwork } from "../src/io/quantized-model-file.js";
import { quantizedFileNetwork, sourceBitsFor } from "../src/io/quantized-format.js";
import { dequantize, quantizeNetwork, type QuantizeBy, type ScaleMode } from "../src/compress/quantize.js";
import { measureSensitivity } from "../src/estimate/sensitivity.js";
import { encodeSafetensors, littleEndian } from "../src/io/safetensors.js";
import { networkDifference } from "../src/io/schema.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createEngine } from "../src/engine/create.js";
import { Network } from "../src/graph/network.js";
import { readTextCorpus, bundledCorpusPath } from "../src/data/files.js";
import { textShape, textTask } from "../src/train/text.js";
import { trainText } from "../src/train/trainer.js";
import type { Batch } from "../src/engine/types.js";
import { Rng } from "../src/util/rng.js";
import { denseBatch, oneHotBatch, randomNetwork, shuffledSlots } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "../src/cli/main.js");

interface Case {
  label: string;
  net: Network;
  batch: Batch;
}

/** A text network trained for a few hundred steps on the bundled corpus (real weight statistics). */
async function trained(neurons: number, inDegree: number, steps: number, seed: number): Promise<Network> {
  const context = 20;
  const rng = new Rng(seed);
  const net = Network.random({ neurons, ...textShape(context), inDegree, task: textTask(context) }, rng.fork());
  const { symbols } = await readTextCorpus(bundledCorpusPath());
  const train = symbols.subarray(0, 400_000);
  const engine = await createEngine("wasm", net, { threads: 1, optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } });
  try {
    await trainText(engine, train, symbols.subarray(400_000, 402_000), { context, batch: 128, steps, evalEvery: 0, evalWindows: 0, rng: rng.fork() });
    engine.pull();
  } finally {
    await engine.dispose();
  }
  return net;
}

const textBatch = (seed: number, size: number) => oneHotBatch(seed, size, 20, 27, 27);

async function cases(): Promise<Case[]> {
  return [
    { label: "30 neurons, d = 1, dense inputs", net: shuffledSlots(randomNetwork(1, { neurons: 30, inputs: 8, outputs: 4, inDegree: 1 }), 1), batch: denseBatch(1, 64, 8, 4, "class") },
    { label: "90 neurons, d = 5, text (context 2)", net: randomNetwork(2, { neurons: 90, inputs: 54, outputs: 27, inDegree: 5, task: textTask(2) }), batch: oneHotBatch(2, 64, 2, 27, 27) },
    { label: "300 neurons, d = 16, dense inputs, shuffled slots", net: shuffledSlots(randomNetwork(3, { neurons: 300, inputs: 40, outputs: 10, inDegree: 16 }), 3), batch: denseBatch(3, 64, 40, 10, "class") },
    { label: "700 neurons, d = 16, trained (the issue's second case)", net: await trained(700, 16, 300, 4), batch: textBatch(4, 64) },
    { label: "1,700 neurons, d = 29, trained, shuffled slots", net: shuffledSlots(await trained(1700, 29, 200, 5), 5), batch: textBatch(5, 64) },
    { label: "1,700 neurons, d = 58, random", net: randomNetwork(6, { neurons: 1700, inputs: 540, outputs: 27, inDegree: 58, task: textTask(20) }), batch: textBatch(6, 32) },
  ];
}

/** The summed loss of a batch, exactly as the reference engine computes it. */
function lossOf(net: Network, batch: Batch): number {
  return new ReferenceEngine(net.clone()).evaluate(batch).lossSum;
}

function assertSame(expected: Network, actual: Network, what: string): void {
  const difference = networkDifference(expected, actual);
  assert.equal(difference, undefined, `${what}: ${difference}`);
}

/** A version 1 quantised safetensors file (fixed-width sources, slots as given, all k biases), written by hand. */
function versionOneFile(net: Network, q: ReturnType<typeof quantizeNetwork>): Uint8Array {
  const k = net.neurons;
  const sourceBits = sourceBitsFor(k);
  const pack = (values: ArrayLike<number>, bits: number): Uint8Array => {
    const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
    let bit = 0;
    for (let p = 0; p < values.length; p++) for (let t = 0; t < bits; t++, bit++) if ((values[p]! >> t) & 1) out[bit >> 3]! |= 1 << (bit & 7);
    return out;
  };
  const packed = q.bits <= 4;
  const weights = packed ? pack(Array.from(q.integers, (x) => x & ((1 << q.bits) - 1)), q.bits) : new Uint8Array(q.integers.buffer, q.integers.byteOffset, q.integers.length).slice();
  return encodeSafetensors([
    { name: "sources", dtype: "U8", shape: [Math.ceil((net.edges * sourceBits) / 8)], data: pack(net.sources, sourceBits) },
    { name: "weights", dtype: packed ? "U8" : "I8", shape: packed ? [weights.length] : [k - net.inputs, net.inDegree], data: weights },
    { name: "scales", dtype: "F32", shape: [q.scales.length], data: littleEndian(q.scales) },
    { name: "biases", dtype: "F32", shape: [k], data: littleEndian(net.biases) },
  ], {
    format: "sparsewire.quantized-network", version: "1", neurons: String(k), inputs: String(net.inputs), outputs: String(net.outputs), inDegree: String(net.inDegree),
    activation: "relu", task: JSON.stringify(net.task),
    quantization: JSON.stringify({ bits: q.bits, scale: q.scale, by: q.by, weights: packed ? "U8-packed-lsb" : "I8", sources: "U8-packed-lsb", sourceBits }),
  });
}

test("float model files (JSON, safetensors) load as the saved network, bit for bit, at 30 to 1,700 neurons", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-roundtrip-"));
  for (const c of await cases()) {
    const before = lossOf(c.net, c.batch);
    for (const ext of ["json", "safetensors"]) {
      const path = join(dir, `float.${ext}`);
      saveNetwork(path, c.net, { training: { label: c.label } });
      const loaded = loadModel(path).network;
      assertSame(c.net, loaded, `${c.label}, .${ext}`);
      assert.ok(Object.is(lossOf(loaded, c.batch), before), `${c.label}, .${ext}: loss ${lossOf(loaded, c.batch)} vs ${before}`);
    }
  }
});

test("quantised files: every format × bits 2–8 × scale × rule loads as the network saved, bit for bit, and evaluates the same", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-roundtrip-q-"));
  const all = await cases();
  // Gradients and curvature for the utility rule, once per network.
  const sensitivity = all.map((c) => measureSensitivity(c.net, [c.batch], { curvature: "lecun" }));
  const rules: QuantizeBy[] = ["utility", "mse", "max"];
  const scales: ScaleMode[] = ["network", "neuron"];
  let checked = 0;
  let combo = 0;
  for (let bits = 2; bits <= 8; bits++) {
    for (const scale of scales) {
      for (const by of rules) {
        // Every combination on two networks (round robin), so each network meets every bit width.
        for (const which of [combo % all.length, (combo + 3) % all.length]) {
          const c = all[which]!;
          const s = sensitivity[which]!;
          const q = quantizeNetwork(c.net, { bits, scale, by, ...(by === "utility" ? { gradient: s.gradient, curvature: s.curvature! } : {}) });
          const fileNet = quantizedFileNetwork(q.network, q);
          const inMemory = lossOf(q.network, c.batch);
          const fromFile = lossOf(fileNet, c.batch);
          // Sorting the slots may change a float32 sum in its last bit, never more.
          assert.ok(Math.abs(fromFile - inMemory) <= 1e-5 * Math.max(1, Math.abs(inMemory)), `${c.label}: sorted ${fromFile} vs ${inMemory}`);
          const what = `${c.label}, ${bits} bits per ${scale}, by ${by}`;
          for (const ext of ["json", "safetensors"]) {
            const path = join(dir, `q.${ext}`);
            saveQuantizedNetwork(path, q.network, q);
            for (const loaded of [loadModel(path).network, loadQuantizedModel(path).network]) {
              assertSame(fileNet, loaded, `${what}, .${ext}`);
              assert.ok(Object.is(lossOf(loaded, c.batch), fromFile), `${what}, .${ext}: loss ${lossOf(loaded, c.batch)} vs ${fromFile}`);
            }
            assert.deepEqual(loadQuantizedModel(path).quantization.scales, q.scales, `${what}, .${ext}: scales`);
            checked++;
          }
          // Version 1 (read only): written by hand, slots in the network's own order, all biases.
          const v1 = join(dir, "q1.safetensors");
          writeFileSync(v1, versionOneFile(q.network, q));
          const loaded1 = loadModel(v1).network;
          assertSame(dequantize(c.net, q), loaded1, `${what}, version 1`);
          assert.ok(Object.is(lossOf(loaded1, c.batch), inMemory), `${what}, version 1: loss`);
          checked++;
        }
        combo++;
      }
    }
  }
  assert.equal(checked, 7 * 2 * 3 * 2 * 3);
});

test("read after write: a file that loads back differently is refused, the previous file stays, no temporary file is left", () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-readback-"));
  const net = randomNetwork(7, { neurons: 120, inputs: 30, outputs: 10, inDegree: 9 });
  const path = join(dir, "m.safetensors");
  saveNetwork(path, net);
  const previous = readFileSync(path);
  // A writer that is wrong by one weight: the bytes of `other`, checked against `net`.
  const other = net.clone();
  other.weights[5] = Math.fround(other.weights[5]! + 1);
  const wrongBytes = encodeModel(other, "safetensors");
  assert.throws(
    () => writeFileAtomic(path, wrongBytes, undefined, (temp) => checkReadBack(path, net, () => decodeModel(readModelBytes(temp), "safetensors", temp))),
    (e: Error) => /^cannot save .*m\.safetensors: the file written loads back as a different network \(neuron 30 slot 5: weight .*, expected .*\); the previous file is unchanged$/.test(e.message),
  );
  assert.throws(
    () => writeFileAtomic(path, wrongBytes, undefined, (temp) => checkReadBack(path, net, () => decodeModel(readModelBytes(temp).subarray(0, 100), "safetensors", temp))),
    /cannot save .*: the file written does not load back \(.*\); the previous file is unchanged/,
  );
  assert.deepEqual(readFileSync(path), previous);
  assert.deepEqual(readdirSync(dir), ["m.safetensors"]);
});

test("eval of a file written by quantize prints the \"after\" figure quantize printed (every format, I8 and packed)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-quantize-eval-"));
  const model = join(dir, "big.safetensors");
  saveNetwork(model, await trained(1700, 29, 200, 3));
  // The text: the start of alice29, decompressed.
  const text = join(dir, "t.txt");
  writeFileSync(text, gunzipSync(readFileSync(join(here, "../../../shared/data/text/alice29.txt.gz"))).subarray(0, 60_000));
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [cli, ...args, "--threads", "1", "--json"], { encoding: "utf8" });
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number | string>;
  };
  for (const [bits, scale, by, ext] of [[8, "neuron", "utility", "safetensors"], [8, "network", "max", "safetensors"], [6, "neuron", "mse", "json"], [4, "neuron", "utility", "safetensors"]] as const) {
    const out = join(dir, `q${bits}${scale}${by}.${ext}`);
    const q = run(["quantize", "--model", model, "--bits", String(bits), "--scale", scale, "--by", by, "--text", text, "--batches", "2", "--save", out]);
    assert.equal(q["readBack"], "identical");
    const e = run(["eval", "--model", out, "--text", text, "--split", "test"]);
    assert.equal(e["bitsPerSymbol"], q["bitsPerSymbolAfter"], `${bits} bits per ${scale} by ${by}, .${ext}`);
    assert.equal(e["windows"], q["windows"]);
  }
});
