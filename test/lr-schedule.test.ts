/**
 * Learning-rate schedules (src/train/lr-schedule.ts) against their closed forms, their refusals, and
 * the training loop that applies them: on steps, on elapsed time, and a constant schedule that must
 * leave training bit for bit as it was without one.
 */
import { withFlags } from "../src/cli/setting-flags.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkLrSchedule, finalRate, learningRateAt, type LrSchedule } from "../src/train/lr-schedule.js";
import { ReferenceEngine } from "../src/engine/reference/engine.js";
import { createWasmEngine } from "../src/engine/wasm/engine.js";
import type { Engine } from "../src/engine/types.js";
import { Network } from "../src/graph/network.js";
import { textShape, textTask } from "../src/train/text.js";
import { trainText, type StepInfo, type TextTrainingOptions } from "../src/train/trainer.js";
import { UsageError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";

const P = 0.01;
/** Rates are computed in float64 by one formula each; 1e-15 relative allows for its rounding only. */
function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-15 + 1e-12 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

test("warmup: P·(x+1)/W from P/W at the first step to P at step W, then the schedule from its start", () => {
  for (const kind of ["constant", "cosine", "linear", "step"] as const) {
    const s: LrSchedule = { kind, warmup: 100 };
    close(learningRateAt(s, P, 0, 1000), P / 100, `${kind}: first step`);
    close(learningRateAt(s, P, 49, 1000), P / 2, `${kind}: step 50`);
    close(learningRateAt(s, P, 99, 1000), P, `${kind}: last warmup step`);
    close(learningRateAt(s, P, 100, 1000), P, `${kind}: first step after warmup`);
  }
});

test("cosine: F + (P − F)(1 + cos πp)/2 over the steps after warmup; (P + F)/2 at the middle; F at the end", () => {
  for (const [warmup, final] of [[0, undefined], [0, 0.002], [200, 0.001]] as const) {
    const s: LrSchedule = { kind: "cosine", warmup, ...(final !== undefined ? { final } : {}) };
    const F = final ?? 0;
    const S = 1200;
    close(learningRateAt(s, P, warmup, S), P, `w${warmup}: start`);
    close(learningRateAt(s, P, warmup + (S - warmup) / 2, S), (P + F) / 2, `w${warmup}: middle`);
    close(learningRateAt(s, P, warmup + (S - warmup) / 4, S), F + ((P - F) * (1 + Math.SQRT1_2)) / 2, `w${warmup}: quarter`);
    close(learningRateAt(s, P, S, S), F, `w${warmup}: end`);
    close(learningRateAt(s, P, S + 50, S), F, `w${warmup}: past the end`);
    // The last step is just above F.
    const last = learningRateAt(s, P, S - 1, S);
    assert.ok(last > F && last - F < 1e-4 * P, `last step ${last}`);
  }
});

test("linear: P + (F − P)·p, midpoint (P + F)/2", () => {
  const s: LrSchedule = { kind: "linear", warmup: 0, final: 0.004 };
  close(learningRateAt(s, P, 0, 1000), P, "start");
  close(learningRateAt(s, P, 250, 1000), P + (0.004 - P) * 0.25, "quarter");
  close(learningRateAt(s, P, 500, 1000), 0.007, "middle");
  close(learningRateAt(s, P, 1000, 1000), 0.004, "end");
  close(learningRateAt({ kind: "linear", warmup: 0 }, P, 999, 1000), P / 1000, "to 0: last step");
});

test("step: P until 50 % of the decay, P·√(F/P) until 75 %, then F (default F = P/100: ×0.1 twice)", () => {
  const s: LrSchedule = { kind: "step", warmup: 0 };
  assert.equal(finalRate(s, P), P / 100);
  close(learningRateAt(s, P, 0, 1000), P, "start");
  close(learningRateAt(s, P, 499, 1000), P, "before the first milestone");
  close(learningRateAt(s, P, 500, 1000), P * 0.1, "first milestone");
  close(learningRateAt(s, P, 749, 1000), P * 0.1, "before the second milestone");
  close(learningRateAt(s, P, 750, 1000), P / 100, "second milestone");
  close(learningRateAt(s, P, 999, 1000), P / 100, "last step");
  // Milestones count from the end of the warmup.
  const w: LrSchedule = { kind: "step", warmup: 200, final: 0.0025 };
  close(learningRateAt(w, P, 599, 1000), P, "warmup 200: before 50 % of the decay (step 600)");
  close(learningRateAt(w, P, 600, 1000), P * 0.5, "warmup 200: first milestone, ×√(0.25)");
  close(learningRateAt(w, P, 800, 1000), 0.0025, "warmup 200: second milestone");
});

test("constant: P after the warmup, whatever the position; finalRate is P", () => {
  const s: LrSchedule = { kind: "constant", warmup: 0 };
  for (const x of [0, 1, 500, 999, 5000]) assert.equal(learningRateAt(s, P, x, 1000), P);
  assert.equal(finalRate(s, P), P);
});

test("time budgets: the same closed forms with seconds as the unit", () => {
  const s: LrSchedule = { kind: "cosine", warmup: 0 };
  close(learningRateAt(s, P, 30, 60), P / 2, "half the time");
  close(learningRateAt(s, P, 0, 60), P, "start");
});

test("refusals name the flag and the value", () => {
  const bad: [LrSchedule, number, Parameters<typeof checkLrSchedule>[2], RegExp][] = [
    [{ kind: "cosine", warmup: -1 }, P, { steps: 100 }, /--warmup must be a whole number of steps ≥ 0, got -1/],
    [{ kind: "cosine", warmup: 2.5 }, P, { steps: 100 }, /--warmup .* got 2\.5/],
    [{ kind: "cosine", warmup: 100 }, P, { steps: 100 }, /--warmup 100 must be below the step budget \(--steps 100\)/],
    [{ kind: "constant", warmup: 10 }, P, { seconds: 60 }, /--warmup 10 counts steps, but with a time budget \(--minutes\) and no --steps/],
    [{ kind: "cosine", warmup: 0, final: 0.02 }, P, { steps: 100 }, /--lr-final 0\.02 is above the peak rate --lr 0\.01/],
    [{ kind: "cosine", warmup: 0, final: -1 }, P, { steps: 100 }, /--lr-final must be a rate ≥ 0, got -1/],
    [{ kind: "constant", warmup: 0, final: 0.001 }, P, { steps: 100 }, /--lr-final 0\.001 needs --lr-schedule cosine, linear or step/],
    [{ kind: "step", warmup: 0, final: 0 }, P, { steps: 100 }, /--lr-final must be above 0 for --lr-schedule step/],
    [{ kind: "exponential" as never, warmup: 0 }, P, { steps: 100 }, /--lr-schedule must be one of constant, cosine, linear, step; got "exponential"/],
    [{ kind: "cosine", warmup: 0 }, 0, { steps: 100 }, /--lr must be a positive number, got 0/],
    [{ kind: "cosine", warmup: 0 }, P, { steps: Infinity }, /step budget/],
    [{ kind: "cosine", warmup: 0 }, P, { seconds: Infinity }, /positive time budget/],
  ];
  for (const [s, peak, budget, message] of bad) {
    // The library names its settings (in backticks, listed in e.settings); the CLI shows them as flags.
    assert.throws(() => checkLrSchedule(s, peak, budget), (e: unknown) => e instanceof UsageError && e.settings.length > 0 && e.settings.every((x) => e.message.includes(`\`${x}\``) || e.hint?.includes(`\`${x}\``)) && message.test(withFlags(e).message) && !e.message.includes("\n"), `${JSON.stringify(s)} ${JSON.stringify(budget)}`);
  }
  checkLrSchedule({ kind: "cosine", warmup: 99, final: P }, P, { steps: 100 });
  checkLrSchedule({ kind: "linear", warmup: 0 }, P, { seconds: 60 });
});

// ---- the training loop ----

const CONTEXT = 3;
const corpus = (() => {
  const rng = new Rng(5);
  const a = new Uint8Array(6000);
  // Repetitive text with some noise: learnable within a few dozen steps.
  for (let i = 0; i < a.length; i++) a[i] = rng.nextFloat() < 0.8 ? (i % 7) + 1 : rng.nextInt(27);
  return a;
})();

function smallNetwork(): Network {
  const { inputs, outputs } = textShape(CONTEXT);
  return Network.random({ neurons: inputs + outputs + 40, inputs, outputs, inDegree: 6, task: textTask(CONTEXT) }, new Rng(9));
}

async function train(engine: Engine, o: Partial<TextTrainingOptions>): Promise<{ losses: Float32Array; infos: StepInfo[] }> {
  const infos: StepInfo[] = [];
  const r = await trainText(engine, corpus.subarray(0, 5000), corpus.subarray(5000), { context: CONTEXT, batch: 32, steps: 40, evalEvery: 0, evalWindows: 0, rng: new Rng(3), onStep: (i) => void infos.push(i), ...o });
  return { losses: r.losses, infos };
}

test("trainText: a constant schedule (or none) gives the same losses bit for bit; StepInfo reports the rate", async () => {
  const adam = { kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
  for (const make of [(n: Network) => Promise.resolve(new ReferenceEngine(n, { optimizer: adam })), (n: Network) => createWasmEngine(n, { optimizer: adam, threads: 2 })]) {
    const runs = [];
    for (const o of [{}, { lrSchedule: { kind: "constant", warmup: 0 } as LrSchedule }, { lrSchedule: { kind: "cosine", warmup: 0 } as LrSchedule }]) {
      const engine = await make(smallNetwork());
      try {
        runs.push(await train(engine, o));
      } finally {
        await engine.dispose();
      }
    }
    const [none, constant, cosine] = runs as [Awaited<ReturnType<typeof train>>, Awaited<ReturnType<typeof train>>, Awaited<ReturnType<typeof train>>];
    assert.deepEqual(Buffer.from(constant.losses.buffer), Buffer.from(none.losses.buffer), "constant schedule = no schedule");
    assert.ok(none.infos.every((i) => i.learningRate === 0.01));
    assert.notDeepEqual(Buffer.from(cosine.losses.buffer), Buffer.from(none.losses.buffer), "a cosine schedule changes training");
    assert.equal(cosine.losses[0], none.losses[0], "the first step's loss is before any update");
    cosine.infos.forEach((info, i) => close(info.learningRate, learningRateAt({ kind: "cosine", warmup: 0 }, 0.01, i, 40), `cosine, step ${i + 1}`));
  }
});

test("trainText: warmup and peak on steps; the engine's rate follows the schedule", async () => {
  const engine = new ReferenceEngine(smallNetwork());
  const s: LrSchedule = { kind: "linear", warmup: 10, final: 0.001 };
  const { infos } = await train(engine, { lrSchedule: s, peakLearningRate: 0.02 });
  assert.equal(infos.length, 40);
  close(infos[0]!.learningRate, 0.002, "first warmup step");
  close(infos[9]!.learningRate, 0.02, "step 10");
  close(infos[39]!.learningRate, 0.02 + ((0.001 - 0.02) * 29) / 30, "last step");
  close(engine.learningRate, infos[39]!.learningRate, "engine keeps the last rate");
});

test("trainText: with only a time budget the schedule runs on elapsed time; a warmup is refused", async () => {
  // A clock that advances 1 s per reading: the loop reads it once before each step and once for onStep.
  let clock = 0;
  const now = () => clock++;
  const engine = new ReferenceEngine(smallNetwork());
  const { infos } = await train(engine, { steps: Infinity, maxSeconds: 20, now, lrSchedule: { kind: "linear", warmup: 0 } });
  // Readings: 0 at the start, then per step one for the budget check and one for onStep, so step k
  // (1-based) starts at 2k − 1 s: 10 steps in 20 s, each at the rate of its start time.
  assert.equal(infos.length, 10);
  infos.forEach((info, i) => close(info.learningRate, 0.001 * (1 - (2 * i + 1) / 20), `step ${i + 1} at ${2 * i + 1} s`));
  await assert.rejects(train(new ReferenceEngine(smallNetwork()), { steps: Infinity, maxSeconds: 20, lrSchedule: { kind: "cosine", warmup: 5 } }), /`lrSchedule.warmup` 5 counts steps/);
});

test("engines refuse a negative or non-finite rate", async () => {
  const net = smallNetwork();
  const wasm = await createWasmEngine(net.clone(), { threads: 1 });
  try {
    for (const e of [new ReferenceEngine(net), wasm]) {
      assert.throws(() => e.setLearningRate(-0.1), /invalid learning rate -0\.1/);
      assert.throws(() => e.setLearningRate(NaN), /invalid learning rate NaN/);
      e.setLearningRate(0);
      assert.equal(e.learningRate, 0);
    }
  } finally {
    await wasm.dispose();
  }
});
