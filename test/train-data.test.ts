/**
 * Data beyond text (issue 15 items 1–2): `train --data` on a CSV table (classes and real values), on
 * MNIST-format idx folders (by path, and `fashion-mnist` looked up in $SPARSEWIRE_DATA), with small
 * files made here; bad tables refused in one line naming the row and column; the layered builder
 * (every edge from the previous layer, fixed in-degree); the run module on samples, deterministic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { spawnSync } from "node:child_process";
import { cli, cliRunner, lastJson } from "./cli-helpers.js";
import { layeredNetwork, layerOf } from "../src/graph/layered.js";
import { parseCsv, scaleFeatures, splitSamples } from "../src/data/samples.js";
import { loadNetwork } from "../src/io/model-file.js";
import { runTraining, adam } from "../src/run/index.js";
import { Rng } from "../src/util/rng.js";

const { work, run } = cliRunner("sparsewire-data-");
const runWithEnv = (args: string[], env: Record<string, string>, cwd = work) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd, env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Three classes of points in 3-D, separable but noisy; `values`: a linear target instead. */
function table(rows: number, values = false): string {
  const rng = new Rng(7);
  const lines = ["a,b,c,label"];
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    const x = [c * 2 + rng.nextNormal() * 0.7, rng.nextNormal(), -c * 2 + rng.nextNormal() * 0.7];
    lines.push(`${x.map((v) => v.toFixed(3)).join(",")},${values ? (x[0]! - x[2]! + 0.1 * rng.nextNormal()).toFixed(3) : ["setosa", "versicolor", "virginica"][c]}`);
  }
  return lines.join("\n") + "\n";
}

/** An MNIST-format folder of `count` tiny 4×4 "images" whose class is the brightest quadrant… of 10 (class = argmax of 10 pixels). */
function idxFolder(dir: string, count: number, testCount: number): void {
  mkdirSync(dir, { recursive: true });
  const write = (prefix: string, n: number, seed: number) => {
    const rng = new Rng(seed);
    const images = new Uint8Array(16 + n * 16);
    const labels = new Uint8Array(8 + n);
    const dv = new DataView(images.buffer);
    dv.setUint32(0, 0x803);
    dv.setUint32(4, n);
    dv.setUint32(8, 4);
    dv.setUint32(12, 4);
    const lv = new DataView(labels.buffer);
    lv.setUint32(0, 0x801);
    lv.setUint32(4, n);
    for (let s = 0; s < n; s++) {
      const label = rng.nextInt(10);
      for (let p = 0; p < 16; p++) images[16 + s * 16 + p] = p === label ? 200 + rng.nextInt(56) : rng.nextInt(120);
      labels[8 + s] = label;
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(images));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(labels));
  };
  write("train", count, 1);
  write("t10k", testCount, 2);
}

test("train --data CSV: classes, a layered network that stays layered without rewiring, accuracy reported", () => {
  writeFileSync(join(work, "iris-like.csv"), table(900));
  const r = run(["train", "--data", "iris-like.csv", "--steps", "400", "--batch", "32", "--layers", "24,24", "--in-degree", "3", "--eval-every", "0", "--json", "--save", "csv.json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { testAccuracy: number; validAccuracy: number; outputs: number; inputs: number; split: string; neurons: number };
  assert.equal(s.inputs, 3);
  assert.equal(s.outputs, 3);
  assert.equal(s.neurons, 3 + 24 + 24 + 3);
  assert.match(s.split, /^720 training, 90 validation, 90 test rows/);
  assert.ok(s.testAccuracy > 0.8, `test accuracy ${s.testAccuracy} (chance 0.33)`);
  const net = loadNetwork(join(work, "csv.json"));
  const layer = layerOf({ inputs: 3, layers: [24, 24], outputs: 3 });
  for (let i = net.inputs; i < net.neurons; i++) for (let e = 0; e < net.inDegree; e++) assert.equal(layer[net.sources[net.rowOf(i) + e]!], layer[i]! - 1, `neuron ${i} edge ${e} reads the previous layer`);
});

test("eval of a --data model: the model's metadata rebuilds its split and scaling, so eval prints what train printed", () => {
  writeFileSync(join(work, "eval.csv"), table(600));
  const t = run(["train", "--data", "eval.csv", "--seed", "5", "--scale", "minmax", "--steps", "200", "--batch", "32", "--neurons", "40", "--in-degree", "3", "--eval-every", "0", "--json", "--save", "eval.safetensors"]);
  assert.equal(t.code, 0, t.stderr);
  const trained = lastJson(t.stdout) as { testLoss: number; testAccuracy: number; validLoss: number; validAccuracy: number };
  // No --data: the model names its data; the split (seed 5) and scaling (minmax) come from its metadata.
  const e = run(["eval", "--model", "eval.safetensors", "--json"]);
  assert.equal(e.code, 0, e.stderr);
  const ev = lastJson(e.stdout) as { loss: number; accuracy: number; samples: number; split: string; scaling: string };
  assert.equal(ev.split, "test");
  assert.equal(ev.scaling, "minmax");
  assert.equal(ev.samples, 60);
  assert.ok(Math.abs(ev.loss - trained.testLoss) < 1e-5, `eval ${ev.loss} vs train ${trained.testLoss}`);
  assert.equal(ev.accuracy, trained.testAccuracy);
  const v = lastJson(run(["eval", "--model", "eval.safetensors", "--data", "eval.csv", "--split", "valid", "--json"]).stdout) as { loss: number; accuracy: number };
  assert.ok(Math.abs(v.loss - trained.validLoss) < 1e-5 && v.accuracy === trained.validAccuracy, `valid: eval ${v.loss} vs train ${trained.validLoss}`);
  // Another split seed is other rows: the command line wins over the metadata (and the number moves).
  const other = lastJson(run(["eval", "--model", "eval.safetensors", "--seed", "6", "--json"]).stdout) as { loss: number };
  assert.notEqual(other.loss, ev.loss);
  const text = run(["eval", "--model", "eval.safetensors", "--data", "eval.csv", "--text", "x.txt"]);
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--text and --data both name what to evaluate/);
  idxFolder(join(work, "eval-digits"), 200, 50);
  const wrong = run(["eval", "--model", "eval.safetensors", "--data", "eval-digits"]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /eval\.safetensors has 3 inputs, eval-digits has 16 features/);
  assert.equal(wrong.stderr.trim().split("\n").length <= 2, true, wrong.stderr);
});

test("train --data CSV --target values: squared error; rewiring runs on samples too", () => {
  writeFileSync(join(work, "reg.csv"), table(600, true));
  const r = run(["train", "--data", "reg.csv", "--target", "values", "--steps", "300", "--batch", "32", "--neurons", "60", "--in-degree", "3", "--rewire", "rigl", "--rewire-every", "50", "--eval-every", "0", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { loss: string; testLoss: number; rewireRounds: number; outputs: number };
  assert.equal(s.loss, "squared error");
  assert.equal(s.outputs, 1);
  assert.ok(s.rewireRounds > 0);
  assert.ok(Number.isFinite(s.testLoss) && s.testLoss < 1, `test squared error ${s.testLoss} (the target's variance is about 9)`);
});

test("train --data: MNIST-format folders, by path and as fashion-mnist in $SPARSEWIRE_DATA", () => {
  idxFolder(join(work, "digits"), 3000, 500);
  const r = run(["train", "--data", "digits", "--steps", "300", "--batch", "64", "--neurons", "200", "--in-degree", "8", "--eval-every", "0", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { testAccuracy: number; split: string; inputs: number; outputs: number };
  assert.equal(s.inputs, 16);
  assert.equal(s.outputs, 10);
  assert.match(s.split, /2700 training, 300 validation \(the last 10 % of the training images\), 500 test \(the set's own\)/);
  assert.ok(s.testAccuracy > 0.5, `test accuracy ${s.testAccuracy} (chance 0.1)`);
  // --reach-outputs: the random DAG starts with every hidden neuron on a path to an output (no rewiring here, so it ends so too).
  const reach = run(["train", "--data", "digits", "--steps", "20", "--batch", "64", "--neurons", "200", "--in-degree", "8", "--eval-every", "0", "--reach-outputs", "--save", "reach.json", "--json"]);
  assert.equal(reach.code, 0, reach.stderr);
  const net = loadNetwork(join(work, "reach.json"));
  const reaches = new Uint8Array(net.neurons);
  for (let i = net.neurons - net.outputs; i < net.neurons; i++) reaches[i] = 1;
  for (let r = net.order.length - 1; r >= 0; r--) {
    const i = net.order[r]!;
    if (reaches[i]) for (let e = 0; e < net.inDegree; e++) reaches[net.sources[net.rowOf(i) + e]!] = 1;
  }
  for (let i = net.inputs; i < net.neurons - net.outputs; i++) assert.equal(reaches[i], 1, `hidden neuron ${i} reaches an output`);
  idxFolder(join(work, "store", "fashion-mnist"), 1000, 200);
  const named = runWithEnv(["train", "--data", "fashion-mnist", "--steps", "50", "--batch", "32", "--neurons", "100", "--in-degree", "8", "--eval-every", "0", "--json"], { SPARSEWIRE_DATA: join(work, "store") });
  assert.equal(named.code, 0, named.stderr);
  assert.match((lastJson(named.stdout) as { split: string }).split, /900 training, 100 validation/);
  // From a folder whose data/ and ../shared/data/ are empty (the work folder sits in the temp folder,
  // where a checkout's ../shared may be: a clone in /tmp has /tmp/shared beside it).
  const isolated = join(work, "isolated", "cwd");
  mkdirSync(isolated, { recursive: true });
  const missing = runWithEnv(["train", "--data", "fashion-mnist"], { SPARSEWIRE_DATA: join(work, "nowhere") }, isolated);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--data fashion-mnist: no fashion-mnist idx files in/);
});

test("train --data: bad tables get one line naming the row and column", () => {
  const cases: [string, string, RegExp][] = [
    ["ragged.csv", "a,b,label\n1,2,x\n3,y\n", /ragged\.csv: row 3 has 2 cells, the header 3/],
    ["text.csv", "a,b,label\n1,2,x\n3,oops,y\n", /text\.csv: row 3, column 2 \(b\): "oops" is not a finite number/],
    ["nan.csv", "a,b,label\n1,NaN,x\n3,4,y\n", /nan\.csv: row 2, column 2 \(b\): "NaN" is not a finite number/],
    ["one.csv", "a,b,label\n1,2,x\n3,4,x\n", /one\.csv: the label column label has only one class \("x"\)/],
    ["empty.csv", "\n\n", /empty\.csv is empty/],
    ["header.csv", "a,b,label\n", /header\.csv has a header but no samples/],
  ];
  for (const [name, text, pattern] of cases) {
    writeFileSync(join(work, name), text);
    const r = run(["train", "--data", name, "--steps", "10"]);
    assert.equal(r.code, 1, `${name}: exit 1; ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").filter((l) => l.startsWith("sparsewire: error:")).length, 1, `${name}: one error line`);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  }
  const textFlag = run(["train", "--data", "ragged.csv", "--context", "5"]);
  assert.equal(textFlag.code, 2);
  assert.match(textFlag.stderr, /--context is for text/);
});

test("layered builder: every edge from the previous layer, fixed in-degree; too wide an in-degree is refused", () => {
  const net = layeredNetwork({ inputs: 20, layers: [15, 10], outputs: 4, inDegree: 6 }, new Rng(3));
  const layer = layerOf({ inputs: 20, layers: [15, 10], outputs: 4 });
  assert.equal(net.neurons, 49);
  assert.equal(net.inDegree, 6);
  for (let i = 20; i < 49; i++) {
    const row = Array.from(net.sources.subarray(net.rowOf(i), net.rowOf(i) + 6));
    assert.equal(new Set(row).size, 6, "distinct sources");
    for (const src of row) assert.equal(layer[src], layer[i]! - 1);
  }
  assert.equal(net.depth, 4, "inputs, two hidden layers, outputs");
  assert.throws(() => layeredNetwork({ inputs: 20, layers: [5], outputs: 4, inDegree: 6 }, new Rng(1)), /in-degree 6 exceeds layer 1 \(5 neurons\)/);
});

test("run module on samples: the same seed gives the same losses, bit for bit", async () => {
  const set = parseCsv(table(300), { source: "t" });
  const [train, valid] = splitSamples(set, [0.8, 0.2], new Rng(1));
  scaleFeatures("standard", train!, valid!);
  const settings = { network: { kind: "random-dag" as const, neurons: 40, inDegree: 3, inputs: 3, outputs: 3 }, batch: 16, steps: 200, optimizer: adam(0.01), seed: 5, engine: "wasm" as const, threads: 1 };
  const a = await runTraining(settings, { kind: "samples", train: train!, valid: valid! });
  const b = await runTraining(settings, { kind: "samples", train: train!, valid: valid! });
  assert.deepEqual(Array.from(a.losses), Array.from(b.losses));
  assert.ok(a.valid.accuracy > 0.6, `validation accuracy ${a.valid.accuracy} (chance 0.33)`);
  await assert.rejects(runTraining({ ...settings, network: { ...settings.network, inputs: 4 } }, { kind: "samples", train: train!, valid: valid! }), /the network has 4 inputs, the data 3 features/);
});

test("train --data with SET's set-up: sigmoid squared error, shuffled epochs, dropout, SGD with decay, SET rewiring that keeps the layers", () => {
  idxFolder(join(work, "set-digits"), 2000, 300);
  const save = join(work, "set-model.safetensors");
  const args = ["train", "--data", "set-digits", "--layers", "32,32", "--in-degree", "4", "--keep-layers", "--rewire", "set", "--rewire-every", "25", "--loss", "sigmoid-squared", "--sampling", "epochs", "--dropout", "0.2", "--optimizer", "sgd", "--lr", "0.05", "--weight-decay", "4e-4", "--batch", "40", "--steps", "400", "--lr-schedule", "constant", "--eval-every", "0", "--save", save, "--json"];
  const r = run(args);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJson(r.stdout) as { testAccuracy: number; loss: string; edgesRewired: number; testLoss: number };
  assert.equal(s.loss, "squared error");
  assert.ok(s.edgesRewired > 0, "SET rewired");
  assert.ok(s.testAccuracy > 0.3, `test accuracy ${s.testAccuracy} (chance 0.1)`);
  assert.ok(s.testLoss < 1, `squared error of sigmoid outputs against one-hot targets stays below 1: ${s.testLoss}`);
  const net = loadNetwork(save);
  const layer = layerOf({ inputs: 16, layers: [32, 32], outputs: 10 });
  for (let j = net.inputs; j < net.neurons; j++) {
    for (let e = 0; e < net.inDegree; e++) assert.equal(layer[net.sources[(j - net.inputs) * net.inDegree + e]!], layer[j]! - 1, `neuron ${j} reads the layer before after rewiring`);
  }
  // The same seed gives the same run (dropout masks and epoch shuffles included).
  const again = run(args.map((a) => (a === save ? join(work, "set-model-2.safetensors") : a)));
  assert.equal((lastJson(again.stdout) as { testLoss: number }).testLoss, s.testLoss);
  const refused: [string[], RegExp][] = [
    [["train", "--data", "set-digits", "--keep-layers", "--steps", "5"], /--keep-layers needs --layers/],
    [["train", "--data", "set-digits", "--layers", "32,32", "--reach-outputs", "--steps", "5"], /--reach-outputs shapes the random DAG, not a layered network/],
    [["train", "--dropout", "0.5", "--loss", "sigmoid-squared", "--steps", "5"], /--loss is for --data/],
    [["train", "--data", "set-digits", "--dropout", "1", "--steps", "5"], /--dropout/],
  ];
  for (const [a, message] of refused) {
    const bad = run(a);
    assert.equal(bad.code, 2, `${a.join(" ")}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
    assert.equal(bad.stderr.trim().split("\n").length, 1, `one line: ${bad.stderr}`);
  }
});
