/**
 * The out-of-process yardsticks of `npm run bench`, each run only when its tool is installed:
 *
 * - c-limit: `../shared/limit/run.sh K D 1 2` (beside the repository; needs gcc with OpenMP). A C
 *   program that trains the same shape of network on its own random DAG and batch: a measure of
 *   what this CPU can do, not project code. It is called where it lies, never copied.
 * - pytorch: bench/torch_step.py under Debian's python3-torch (/usr/bin/python3: the python3 on PATH
 *   may be another Python without torch), on the very network and batches the engines train,
 *   written to a temporary folder.
 *
 * Both print JSON lines in the benchmark schema; rows come back as `Row`s.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Batch } from "../src/engine/types.js";
import type { EngineLabel, Row } from "./report.js";
import type { Workload } from "./engines.js";

/** The repository root: this file runs as dist/bench/external.js. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const C_LIMIT_SCRIPT = join(REPO_ROOT, "..", "shared", "limit", "run.sh");
/** The benchmark's Python file, in the source tree (tsc does not copy it to dist/). */
export const TORCH_SCRIPT = join(REPO_ROOT, "bench", "torch_step.py");
export const TORCH_PYTHON = "/usr/bin/python3";

export type Availability = { ok: true } | { ok: false; reason: string };

export function cLimitAvailable(): Availability {
  if (!existsSync(C_LIMIT_SCRIPT)) return { ok: false, reason: `${C_LIMIT_SCRIPT} not found` };
  const gcc = spawnSync("gcc", ["--version"], { encoding: "utf8" });
  if (gcc.error || gcc.status !== 0) return { ok: false, reason: "no gcc on PATH" };
  return { ok: true };
}

export function torchAvailable(): Availability {
  if (!existsSync(TORCH_PYTHON)) return { ok: false, reason: `${TORCH_PYTHON} not found` };
  const probe = spawnSync(TORCH_PYTHON, ["-c", "import torch"], { encoding: "utf8", timeout: 120_000 });
  if (probe.error || probe.status !== 0) return { ok: false, reason: `${TORCH_PYTHON} cannot import torch (Debian: apt-get install python3-torch)` };
  return { ok: true };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Parses the JSON lines a yardstick printed; lines that are not objects of the schema are refused by name. */
function parseRows(stdout: string, engine: EngineLabel, edges: number): Row[] {
  const rows: Row[] = [];
  for (const text of stdout.split("\n")) {
    if (!text.trim().startsWith("{")) continue;
    const o: unknown = JSON.parse(text);
    if (!isRecord(o)) continue;
    const num = (k: string): number => {
      const v = o[k];
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${engine} printed a row without a numeric "${k}": ${text}`);
      return v;
    };
    const opt = (k: string): number | undefined => (typeof o[k] === "number" ? (o[k] as number) : undefined);
    const row: Row = {
      engine,
      threads: num("threads"),
      neurons: num("neurons"),
      inDegree: num("inDegree"),
      batch: num("batch"),
      edges,
      msPerStep: num("msPerStep"),
      edgeSamplesPerSec: num("edgeSamplesPerSec"),
    };
    const copy = (k: "msPerStepMin" | "steps" | "repeats" | "lossFirst" | "lossLast") => {
      const v = opt(k);
      if (v !== undefined) row[k] = v;
    };
    copy("msPerStepMin");
    copy("steps");
    copy("repeats");
    copy("lossFirst");
    copy("lossLast");
    const peak = opt("peakRssBytes");
    if (peak !== undefined) {
      row.memoryBytes = peak;
      row.memorySource = "peak-rss";
    }
    rows.push(row);
  }
  return rows;
}

function failure(what: string, r: ReturnType<typeof spawnSync>): Error {
  if (r.error) return new Error(`${what}: ${r.error.message}`);
  const err = String(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ");
  return new Error(`${what} exited with ${r.status ?? r.signal}${err ? `: ${err}` : ""}`);
}

/** `run.sh K D 1 2`: the C probe on 1 and 2 threads, or on `threads` (its own DAG of this shape, batch 512, 30 timed steps after 3 untimed). */
export function runCLimit(neurons: number, inDegree: number, inputs: number, timeoutMs: number, threads: readonly number[] = [1, 2]): Row[] {
  const r = spawnSync("bash", [C_LIMIT_SCRIPT, String(neurons), String(inDegree), ...threads.map(String)], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) throw failure(`${C_LIMIT_SCRIPT}`, r);
  const rows = parseRows(r.stdout, "c-limit", (neurons - inputs) * inDegree);
  if (rows.length === 0) throw new Error(`${C_LIMIT_SCRIPT} printed no rows`);
  return rows;
}

/**
 * Bytes the C probe allocates at this shape (kern2.c: σ and δ of every neuron for all 512 samples,
 * K·512·4 bytes each, plus about 40 bytes per edge of graph, optimiser state and two threads'
 * gradients), and the bytes of the data file its generator writes first.
 */
export function cLimitBytes(neurons: number, inDegree: number, inputs: number): { memory: number; dataFile: number } {
  const edges = (neurons - inputs) * inDegree;
  return { memory: 2 * neurons * 512 * 4 + 40 * edges + 24 * neurons, dataFile: 8 * edges };
}

/** A temporary folder for the graph files handed to PyTorch; removed by `dispose`. */
export class TorchGraphs {
  readonly dir = mkdtempSync(join(tmpdir(), "sparsewire-bench-"));

  /**
   * Writes the workload's network and batches: `<name>.json` (header) and `<name>.bin` holding, little
   * endian and in this order, sources i32[(k−n)·d], weights f32[(k−n)·d], biases f32[k],
   * active i32[batches·B·context], classes i32[batches·B].
   */
  write(name: string, work: Workload): string {
    const net = work.network;
    const batches = work.batches;
    const B = batches[0]!.size;
    const parts: ArrayBufferView[] = [net.sources, net.weights, net.biases];
    for (const b of batches) parts.push(oneHotActive(b));
    for (const b of batches) parts.push(classesOf(b));
    writeFileSync(join(this.dir, `${name}.bin`), Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
    const header = {
      neurons: net.neurons,
      inputs: net.inputs,
      outputs: net.outputs,
      inDegree: net.inDegree,
      batch: B,
      perSample: work.context,
      batches: batches.length,
      binary: `${name}.bin`,
    };
    const path = join(this.dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(header));
    return path;
  }

  /** Removes the files of one `write`. */
  remove(name: string): void {
    for (const ext of [".json", ".bin"]) rmSync(join(this.dir, `${name}${ext}`), { force: true });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function oneHotActive(b: Batch): Int32Array {
  if (b.inputs.kind !== "one-hot") throw new Error("the PyTorch benchmark takes one-hot batches");
  return b.inputs.active.subarray(0, b.size * b.inputs.perSample);
}

function classesOf(b: Batch): Int32Array {
  if (b.targets.kind !== "class") throw new Error("the PyTorch benchmark takes class targets");
  return b.targets.classes.subarray(0, b.size);
}

export interface TorchPlan {
  threads: number[];
  repeats: number;
  warmup: number;
  targetSeconds: number;
  steps: number | undefined;
  timeoutMs: number;
}

/** torch_step.py on a graph file: one row per thread count (measured interleaved inside the script). */
export function runTorch(graphPath: string, edges: number, plan: TorchPlan): Row[] {
  const args = [TORCH_SCRIPT, "--graph", graphPath, "--threads", plan.threads.join(","), "--repeats", String(plan.repeats), "--warmup", String(plan.warmup), "--target-seconds", String(plan.targetSeconds)];
  if (plan.steps !== undefined) args.push("--steps", String(plan.steps));
  const r = spawnSync(TORCH_PYTHON, args, { encoding: "utf8", timeout: plan.timeoutMs, maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) throw failure("bench/torch_step.py", r);
  const rows = parseRows(r.stdout, "pytorch", edges);
  if (rows.length === 0) throw new Error("bench/torch_step.py printed no rows");
  return rows;
}
