/**
 * Checkpoints and exact resume through the run module (issue 14 item 1): a run checkpointed at step
 * 50 (and one stopped there by an exception, as a signal handler stops the CLI) continues from the
 * checkpoint file's bytes to the same losses, rounds, network (sources, weights, biases, order) and
 * validation as the uninterrupted run, bit for bit: static, RigL, the thesis rule and gradual
 * pruning, on the wasm engine with 1 and 2 threads and on the reference engine. Checkpointing itself
 * must not change the run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bundledCorpusPath, readTextCorpus } from "../src/data/files.js";
import { splitCorpus } from "../src/data/windows.js";
import { PRESETS } from "../src/rewire/schedule.js";
import { decodeCheckpoint, encodeCheckpoint, runTraining, adam, type RunCheckpoint, type RunData, type RunResult, type RunSettings } from "../src/run/index.js";
import type { EngineName } from "../src/engine/types.js";
import type { SampleSet } from "../src/data/samples.js";
import { Rng } from "../src/util/rng.js";

let data: RunData | undefined;
async function corpus(): Promise<RunData> {
  if (!data) {
    const symbols = (await readTextCorpus(bundledCorpusPath())).symbols.subarray(0, 400_000);
    const [train, valid] = splitCorpus(symbols, [0.9, 0.05, 0.05], 20);
    data = { train: train!.symbols, valid: valid!.symbols.subarray(0, 20_000) };
  }
  return data;
}

const STEPS = 120;
const base = (engine: EngineName, threads: number): RunSettings => ({
  network: { kind: "random", neurons: 700, inDegree: 12, context: 20 },
  batch: 128,
  steps: STEPS,
  optimizer: adam(0.005),
  seed: 11,
  engine,
  threads,
  evalEvery: 40,
  evalWindows: 2000,
});

const CONFIGS: Record<string, Partial<RunSettings>> = {
  static: {},
  rigl: { rewire: { ...structuredClone(PRESETS.rigl), every: 20 } },
  thesis: { rewire: { ...structuredClone(PRESETS.thesis), every: 30 } },
  // Dropout's masks count the engine's updates: a resumed run must draw the masks it would have.
  "rigl-dropout": { rewire: { ...structuredClone(PRESETS.rigl), every: 20 }, dropout: 0.2 },
  "prune-to": { network: { kind: "random", neurons: 700, inDegree: 16, context: 20 }, prune: { to: 8, by: "magnitude", start: 0.1, end: 0.7, every: 10, batches: 1 } },
};

function assertSameRun(a: RunResult, b: RunResult, label: string): void {
  assert.equal(a.steps, b.steps, `${label}: steps`);
  assert.equal(a.losses.length, b.losses.length, `${label}: losses`);
  for (let s = 0; s < a.losses.length; s++) assert.equal(Object.is(a.losses[s], b.losses[s]), true, `${label}: step ${s + 1} loss ${a.losses[s]} vs ${b.losses[s]}`);
  assert.deepEqual(Array.from(a.network.sources), Array.from(b.network.sources), `${label}: sources`);
  assert.deepEqual(new Uint8Array(a.network.weights.buffer.slice(0)), new Uint8Array(b.network.weights.buffer.slice(0)), `${label}: weights bit for bit`);
  assert.deepEqual(new Uint8Array(a.network.biases.buffer.slice(0)), new Uint8Array(b.network.biases.buffer.slice(0)), `${label}: biases bit for bit`);
  assert.equal(a.valid.bitsPerSymbol, b.valid.bitsPerSymbol, `${label}: validation`);
  assert.equal(a.trainBitsPerSymbol, b.trainBitsPerSymbol, `${label}: train bits`);
  assert.deepEqual(a.rounds.map((r) => [r.step, r.rewired, r.refused, r.refusedBy]), b.rounds.map((r) => [r.step, r.rewired, r.refused, r.refusedBy]), `${label}: rewiring rounds and their refusals (kept across the checkpoint)`);
  for (const r of a.rounds) assert.ok(r.refusedBy && r.refused === r.refusedBy.noCandidates + r.refusedBy.candidatesUsed + r.refusedBy.noGain, `${label}: round at ${r.step} records why its ${r.refused} refusals happened`);
  assert.deepEqual(a.prunings.map((e) => [e.step, e.from, e.to]), b.prunings.map((e) => [e.step, e.from, e.to]), `${label}: pruning steps`);
  assert.equal(a.edgesRewired, b.edgesRewired, `${label}: edges rewired`);
}

for (const [engine, threads] of [["wasm", 1], ["wasm", 2], ["reference", 1]] as const) {
  for (const [name, config] of Object.entries(CONFIGS)) {
    // The reference engine is slow: two configurations cover it (static and RigL).
    if (engine === "reference" && name !== "static" && name !== "rigl") continue;
    test(`resume: ${name} on ${engine} × ${threads}: checkpoint at 50 → same run, bit for bit`, async () => {
      const d = await corpus();
      const settings: RunSettings = { ...base(engine, threads), ...config };
      const full = await runTraining(settings, d);
      if (name === "rigl" || name === "thesis") assert.ok(full.edgesRewired > 0, "the run rewires (else the test shows nothing)");
      if (name === "prune-to") assert.ok(full.prunings.length > 1, "the run prunes in several steps");
      if (name === "rigl-dropout") {
        const { dropout: _, ...without } = settings;
        const plain = await runTraining(without, d);
        assert.notEqual(plain.losses[9], full.losses[9], "dropout changes the run (else the test shows nothing)");
      }
      // The same run, saving checkpoints every 50 steps: checkpointing must not change it.
      const files: Uint8Array[] = [];
      const checkpointed = await runTraining(settings, d, { checkpointEvery: 50, onCheckpoint: (c) => void files.push(encodeCheckpoint(c, { test: name })) });
      assertSameRun(checkpointed, full, `${name}: checkpointing`);
      assert.equal(files.length, 2, "checkpoints at steps 50 and 100");
      for (const bytes of files) {
        const loaded = decodeCheckpoint(bytes, "checkpoint");
        assert.deepEqual(loaded.settings, { test: name });
        const resumed = await runTraining({ ...settings, resume: loaded.checkpoint }, d);
        assertSameRun(resumed, full, `${name}: resumed from step ${loaded.checkpoint.step}`);
      }
      // Stopped at step 70 by an exception (what the CLI's signal handler does), resumed from the checkpoint it took.
      let taken: Uint8Array | undefined;
      await assert.rejects(
        runTraining(settings, d, {
          onEvent: (e) => {
            if (e.type === "start") taken = undefined;
            if (e.type === "step" && e.step === 70) throw Object.assign(new Error("interrupted"), { at: e.step });
          },
          checkpointEvery: 70,
          onCheckpoint: (c) => void (taken = encodeCheckpoint(c, {})),
        }),
        /interrupted/,
      );
      assert.ok(taken, "a checkpoint was taken at step 70");
      const resumed = await runTraining({ ...settings, resume: decodeCheckpoint(taken, "checkpoint").checkpoint }, d);
      assertSameRun(resumed, full, `${name}: resumed after an interruption at step 70`);
    });
  }
}

test("resume: a damaged checkpoint is refused with one line", async () => {
  const d = await corpus();
  let taken: RunCheckpoint | undefined;
  await runTraining({ ...base("wasm", 1), steps: 20 }, d, { checkpointEvery: 10, onCheckpoint: (c) => void (taken ??= c) });
  const bytes = encodeCheckpoint(taken!, {});
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 7), "ck.safetensors"), /ck\.safetensors: .*truncated/);
  const wrongFormat = bytes.slice();
  const at = Buffer.from(wrongFormat).indexOf("sparsewire.checkpoint");
  assert.ok(at > 0);
  wrongFormat.set(new TextEncoder().encode("sparsewire.xxxxxxxxxx"), at);
  assert.throws(() => decodeCheckpoint(wrongFormat, "ck.safetensors"), /not a sparsewire checkpoint/);
  // An evaluation order that puts a neuron before one of its sources is refused before training.
  const bad = structuredClone(taken!);
  bad.network.order.reverse();
  await assert.rejects(runTraining({ ...base("wasm", 1), steps: 20, resume: bad }, d), /evaluation order puts neuron \d+ before its source \d+/);
});

test("resume: a run on labelled samples (shuffled epochs, dropout, SET keeping layers, sigmoid squared error) continues from a checkpoint bit for bit", async () => {
  // A learnable toy set: the class is the index of the largest of 4 feature groups.
  const rng = new Rng(5);
  const make = (count: number): SampleSet => {
    const features = Float32Array.from({ length: count * 16 }, () => rng.nextFloat());
    const labels = Int32Array.from({ length: count }, (_, i) => {
      let best = 0;
      for (let g = 1; g < 4; g++) if (features[i * 16 + g * 4]! > features[i * 16 + best * 4]!) best = g;
      return best;
    });
    return { count, featureCount: 16, features, labels, outputs: 4, outputNames: ["a", "b", "c", "d"], featureNames: Array.from({ length: 16 }, (_, i) => `x${i}`) };
  };
  // 300 samples in batches of 32: epochs end inside batches, and checkpoints fall mid-epoch.
  const samples: RunData = { kind: "samples", train: make(300), valid: make(100), heldOut: { test: make(100) }, loss: "sigmoid-squared", order: "epochs" };
  const settings: RunSettings = {
    network: { kind: "layered", layers: [40, 40], inDegree: 6, inputs: 16, outputs: 4, task: { kind: "classification", classes: 4, inputShape: [16] }, keepLayers: true },
    batch: 32,
    steps: STEPS,
    optimizer: { kind: "sgd", learningRate: 0.05, momentum: 0.9, weightDecay: 2e-4 },
    seed: 3,
    engine: "wasm",
    threads: 1,
    evalEvery: 40,
    evalWindows: 100,
    dropout: 0.2,
    rewire: { ...structuredClone(PRESETS.set), every: 25 },
  };
  const full = await runTraining(settings, samples);
  assert.ok(full.edgesRewired > 0, "the run rewires (else the test shows nothing)");
  const files: Uint8Array[] = [];
  const checkpointed = await runTraining(settings, samples, { checkpointEvery: 50, onCheckpoint: (c) => void files.push(encodeCheckpoint(c, {})) });
  assertSameRun(checkpointed, full, "samples: checkpointing");
  assert.equal(files.length, 2);
  for (const bytes of files) {
    const loaded = decodeCheckpoint(bytes, "checkpoint");
    assert.ok(loaded.checkpoint.trainer.samplerPosition, "the checkpoint holds the epoch position");
    assertSameRun(await runTraining({ ...settings, resume: loaded.checkpoint }, samples), full, `samples: resumed from step ${loaded.checkpoint.step}`);
    // Without the epoch position the run would replay a fresh shuffle: refused, not silently different.
    const { samplerPosition: _, ...trainer } = loaded.checkpoint.trainer;
    await assert.rejects(runTraining({ ...settings, resume: { ...loaded.checkpoint, trainer } }, samples), /reads epochs but the state has no epoch position/);
  }
  // A checkpoint of a run on other samples (another training-set size) is refused by the sampler.
  const other: RunData = { ...samples, train: make(299) } as RunData;
  await assert.rejects(runTraining({ ...settings, resume: decodeCheckpoint(files[0]!, "c").checkpoint }, other), /sampler position: a permutation of 300 samples/);
});
