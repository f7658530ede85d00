/**
 * The in-process contenders of `npm run bench`: the reference engine and the wasm engine (1 thread
 * and all threads), each training its own copy of one network on the same batches of real text.
 *
 * Method: every engine warms up, then the engines take turns (one timed repeat each per round, the
 * starting engine rotating) so that a noisy neighbour on a shared machine slows all of them alike.
 * A repeat is `steps` full training steps (engine.step: forward, softmax cross-entropy, backward,
 * Adam); the row reports the median ms per step over the repeats. Slow engines (the reference at
 * 17,000+ neurons) get fewer steps and repeats so that no cell takes much longer than its budget.
 */
import { memoryUsage } from "node:process";
import { performance } from "node:perf_hooks";
import { createEngine } from "../src/engine/create.js";
import type { Batch, Engine, EngineName } from "../src/engine/types.js";
import type { WasmTuning } from "../src/engine/wasm/engine.js";
import { Network } from "../src/graph/network.js";
import { TextBatch, textShape, textTask } from "../src/train/text.js";
import { WindowSampler } from "../src/data/windows.js";
import { Rng } from "../src/util/rng.js";
import type { Row } from "./report.js";
import type { Watchdog } from "./watchdog.js";

/** One network size and the batches every engine trains on. */
export interface Workload {
  network: Network;
  batches: Batch[];
  context: number;
}

/** Distinct batches each engine cycles through (filled before timing, so timing is engine work only). */
export const BATCH_POOL = 8;

export function makeWorkload(symbols: Uint8Array, neurons: number, inDegree: number, batchSize: number, context: number, seed: number): Workload {
  const { inputs, outputs } = textShape(context);
  const network = Network.random({ neurons, inputs, outputs, inDegree, task: textTask(context) }, new Rng(seed));
  return { network, batches: makeBatches(symbols, BATCH_POOL, batchSize, context, seed + 1), context };
}

/** `count` batches of `batchSize` real text windows, drawn with `seed` (makeWorkload's batches use seed + 1). */
export function makeBatches(symbols: Uint8Array, count: number, batchSize: number, context: number, seed: number): Batch[] {
  const sampler = new WindowSampler(symbols, context, new Rng(seed));
  const batches: Batch[] = [];
  for (let i = 0; i < count; i++) batches.push(new TextBatch(batchSize, context).sample(sampler));
  return batches;
}

export interface Contender {
  engine: EngineName;
  threads: number;
  /**
   * wasm only: the engine with other tuning, to compare with its default (the bench reports it in a
   * note, not a table row): the plain or the blocked backward pull, or the fused multiply-add kernels.
   */
  variant?: WasmVariant;
}

/** A wasm engine with tuning other than its defaults, named in notes and rows. */
export interface WasmVariant {
  name: "plain backward" | "blocked backward" | "fma";
  tuning: WasmTuning;
}

/** The contender's engine: createEngine, or for a wasm variant the wasm engine with its tuning. */
async function startEngine(contender: Contender, network: Network): Promise<Engine> {
  if (contender.variant && contender.engine === "wasm") {
    const { createWasmEngine } = await import("../src/engine/wasm/engine.js");
    return createWasmEngine(network, { threads: contender.threads }, contender.variant.tuning);
  }
  return createEngine(contender.engine, network, { threads: contender.threads });
}

export interface TimingPlan {
  /** Target length of one timed repeat. */
  repeatMs: number;
  /** Rounds of the interleaved schedule (an engine may take part in fewer, see cellBudgetMs). */
  repeats: number;
  /** Fixed steps per repeat, else chosen from the warm-up speed to fill repeatMs. */
  steps: number | undefined;
  /** Warm-up: at least 2 steps and this long (one step suffices when a single step is this slow). */
  warmupMs: number;
  /** Timed work per engine and size: fewer repeats for slow engines, but at least one. */
  cellBudgetMs: number;
  /** An engine that takes this long to start, to warm up, or (or 20× its expected time) for one repeat, is stuck: the watchdog ends the run. */
  stuckSeconds: number;
}

interface Running {
  contender: Contender;
  engine: Engine;
  cursor: number;
  steps: number;
  repeats: number;
  perStep: number[];
  lossFirst: number;
  lossLast: number;
  memoryBytes: number;
  memorySource: "engine" | "rss-delta";
  expectedMs: number;
}

/** What the wasm engine reports beyond the Engine interface, when it does. */
function engineMemory(engine: Engine): number | undefined {
  const extra = engine as Partial<{ memoryBytes: () => number }>;
  return typeof extra.memoryBytes === "function" ? extra.memoryBytes() : undefined;
}

function timeSteps(run: Running, batches: Batch[], steps: number): number {
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    run.lossLast = run.engine.step(batches[run.cursor % batches.length]!);
    run.cursor++;
  }
  return (performance.now() - start) / steps;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

/**
 * Measures the contenders on one workload. Engines that fail to load or to start are skipped with
 * a note (the wasm engine may be missing or unbuilt); the others still run.
 */
export async function measureInProcess(work: Workload, contenders: Contender[], plan: TimingPlan, watchdog: Watchdog, note: (text: string) => void): Promise<Row[]> {
  const { network, batches } = work;
  const running: Running[] = [];
  const at = `${network.neurons.toLocaleString("en-US")} neurons, d = ${network.inDegree}`;
  const name = (c: Contender) => `${c.engine}${c.variant ? ` ${c.variant.name}` : ""} (${c.threads} thread${c.threads > 1 ? "s" : ""})`;
  try {
    // Warm-up, one engine after another (also the memory reading: nothing else allocates meanwhile).
    for (const contender of contenders) {
      const rssBefore = memoryUsage().rss;
      let engine: Engine;
      watchdog.arm(plan.stuckSeconds, `starting ${name(contender)} at ${at}`);
      try {
        engine = await startEngine(contender, network.clone());
      } catch (e) {
        note(`${name(contender)} skipped: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      watchdog.arm(plan.stuckSeconds, `the warm-up of ${name(contender)} at ${at}`);
      const run: Running = { contender, engine, cursor: 0, steps: 0, repeats: 0, perStep: [], lossFirst: NaN, lossLast: NaN, memoryBytes: 0, memorySource: "engine", expectedMs: 0 };
      running.push(run);
      const warmStart = performance.now();
      let last = timeSteps(run, batches, 1);
      run.lossFirst = run.lossLast;
      let warmSteps = 1;
      // A step longer than the warm-up is warm by its end; otherwise keep going.
      if (last < plan.warmupMs) {
        while (warmSteps < 2 || (performance.now() - warmStart < plan.warmupMs && warmSteps < 1000)) {
          last = timeSteps(run, batches, 1);
          warmSteps++;
        }
      }
      const own = engineMemory(engine);
      if (own !== undefined) run.memoryBytes = own;
      else {
        run.memoryBytes = Math.max(0, memoryUsage().rss - rssBefore);
        run.memorySource = "rss-delta";
      }
      run.steps = plan.steps ?? Math.max(1, Math.min(10000, Math.round(plan.repeatMs / last)));
      run.repeats = Math.max(1, Math.min(plan.repeats, Math.floor(plan.cellBudgetMs / (run.steps * last))));
      run.expectedMs = run.steps * last;
    }
    // Interleaved rounds; the starting engine rotates.
    for (let round = 0; round < plan.repeats; round++) {
      for (let i = 0; i < running.length; i++) {
        const run = running[(round + i) % running.length]!;
        if (run.perStep.length >= run.repeats) continue;
        watchdog.arm(Math.max(plan.stuckSeconds, (20 * run.expectedMs) / 1000), `${run.steps} steps of ${name(run.contender)} at ${at}`);
        run.perStep.push(timeSteps(run, batches, run.steps));
      }
    }
    watchdog.disarm();
  } finally {
    for (const run of running) await run.engine.dispose();
  }
  const edges = network.edges;
  const B = batches[0]!.size;
  return running.map((run): Row => {
    const ms = median(run.perStep);
    return {
      engine: run.contender.engine,
      threads: run.engine.threads,
      neurons: network.neurons,
      inDegree: network.inDegree,
      batch: B,
      edges,
      msPerStep: ms,
      edgeSamplesPerSec: (edges * B) / (ms / 1e3),
      msPerStepMin: Math.min(...run.perStep),
      steps: run.steps,
      repeats: run.perStep.length,
      memoryBytes: run.memoryBytes,
      memorySource: run.memorySource,
      bytesPerEdge: run.memoryBytes / edges,
      lossFirst: run.lossFirst,
      lossLast: run.lossLast,
      ...(run.contender.variant ? { variant: run.contender.variant.name } : {}),
    };
  });
}
