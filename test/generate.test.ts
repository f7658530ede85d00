/** Text generation (train/generate.ts, `sparsewire generate`): deterministic by seed, greedy at temperature 0, top-k. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Network } from "../src/graph/network.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { generateText } from "../src/train/generate.js";
import { nextSymbolProbabilities } from "../src/train/predict.js";
import { textShape, textTask } from "../src/train/text.js";
import { saveNetwork } from "../src/io/model-file.js";
import { cleanText } from "../src/data/text.js";
import { Rng } from "../src/util/rng.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

function model(): Network {
  const rng = new Rng(5);
  const net = Network.random({ neurons: 160, ...textShape(3), inDegree: 8, task: textTask(3) }, rng.fork());
  for (let i = net.inputs; i < net.neurons; i++) net.biases[i] = 0.5 * rng.nextNormal();
  for (let p = 0; p < net.weights.length; p++) net.weights[p] = 2 * net.weights[p]!;
  return net;
}

test("generation: same seed, same text; temperature 0 and top-k 1 are the arg-max at every step; samples differ", () => {
  const engine = new ReferenceEngine(model());
  const prompt = cleanText("the cat");
  const run = (o: Partial<Parameters<typeof generateText>[2]>) => generateText(engine, prompt, { length: 40, temperature: 1, topK: 0, samples: 3, rng: new Rng(9), ...o });
  const a = run({});
  assert.deepEqual(run({}), a, "deterministic");
  assert.equal(a[0]!.length, prompt.length + 40);
  assert.deepEqual(a[0]!.subarray(0, prompt.length), prompt, "the prompt comes first");
  assert.notDeepEqual(a[0], a[1], "independent samples differ");
  const greedy = run({ temperature: 0, samples: 1 })[0]!;
  assert.deepEqual(run({ topK: 1, samples: 1, rng: new Rng(1) })[0], greedy, "top-k 1 is greedy whatever the seed");
  // Greedy by hand: the arg-max of the next-symbol probabilities after each window.
  let text = Uint8Array.from([26, 26, 26, ...prompt]);
  for (let step = 0; step < 10; step++) {
    const p = nextSymbolProbabilities(engine, text.slice(-3), 1);
    const best = Array.from(p).indexOf(Math.max(...p));
    assert.equal(greedy[prompt.length + step], best, `step ${step}`);
    const next = new Uint8Array(text.length + 1);
    next.set(text);
    next[text.length] = best;
    text = next;
  }
});

test("sparsewire generate: prints samples, cleans the prompt and says so, --json reports characters per second", () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-generate-"));
  const path = join(dir, "m.json");
  saveNetwork(path, model());
  const r = spawnSync(process.execPath, [cli, "generate", "--model", path, "--prompt", "The Cat!", "--length", "30", "--seed", "4", "--engine", "reference"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the prompt was cleaned to the model's 27 symbols: "the cat"/);
  assert.match(r.stdout, /^the cat[a-z ]{30}\n$/);
  const j = spawnSync(process.execPath, [cli, "generate", "--model", path, "--length", "20", "--samples", "2", "--temperature", "0", "--json", "--engine", "reference"], { encoding: "utf8" });
  const out = JSON.parse(j.stdout.trim().split("\n").pop()!);
  assert.equal(out.samples.length, 2);
  assert.equal(out.samples[0], out.samples[1], "greedy samples agree");
  assert.ok(out.charactersPerSecond > 0);
  const bad = spawnSync(process.execPath, [cli, "generate", "--model", path, "--temperature", "-1"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^sparsewire: error: --temperature must be at least 0/);
});
