/**
 * Experiments on a real Slurm cluster (issue 14 item 3), a single node on this machine
 * (test/slurm-cluster.ts): `--launcher slurm --jobs 2` submits an array of 2 tasks whose merged
 * summary equals a local `--jobs 1` run's; a job requeued while its tasks are inside runs continues
 * them from their checkpoints to the same results. Also the local launcher (`--jobs 2`) and
 * `experiment status`. Skipped, and said so, only where Slurm cannot be installed or started.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliRunner, lastJson } from "./cli-helpers.js";
import { startCluster, type Cluster } from "./slurm-cluster.js";

const { work, run } = cliRunner("sparsewire-slurm-");
const PROTOCOL = ["experiment", "versus", "--quick", "--configs", "static,rigl", "--seeds", "2", "--threads", "1"];
const BASE = [...PROTOCOL, "--checkpoint-every", "64"];
const TIMING = new Set(["seconds", "trainSeconds", "rewireSeconds", "rewireTimeShare", "edgeSamplesPerSecond"]);

/** summary.json without timings. */
function summaryOf(out: string): unknown {
  const strip = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(strip) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => !TIMING.has(k)).map(([k, x]) => [k, strip(x)])) : v;
  return strip(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")));
}

/** runs.jsonl results by key, without timings. */
function resultsOf(out: string): unknown {
  const lines = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { key: string; status: string; result: Record<string, unknown> });
  return Object.fromEntries(lines.sort((a, b) => a.key.localeCompare(b.key)).map((r) => [r.key, { status: r.status, result: Object.fromEntries(Object.entries(r.result).filter(([k]) => !TIMING.has(k)).map(([k, v]) => [k, k === "rounds" ? (v as { step: number; rewired: number }[]).map((x) => [x.step, x.rewired]) : v])) }]));
}

function status(out: string, env?: NodeJS.ProcessEnv): { done: number; planned: number; failed: number; inProgress: unknown[]; slurm?: { tasks: Record<string, string> } } {
  const r = spawnSync(process.execPath, [cli, "experiment", "status", out, "--json"], { encoding: "utf8", cwd: work, ...(env ? { env } : {}) });
  assert.equal(r.status, 0, r.stderr);
  return lastJson(r.stdout) as never;
}

async function waitDone(out: string, env: NodeJS.ProcessEnv, planned: number, what: string): Promise<void> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const s = status(out, env);
    if (s.planned > 0 && s.done + s.failed >= planned && Object.values(s.slurm?.tasks ?? {}).every((t) => t === "ENDED")) return;
    if (Date.now() > deadline) {
      const logs = existsSync(join(out, "slurm")) ? readdirSync(join(out, "slurm")).filter((f) => f.endsWith(".log")).map((f) => readFileSync(join(out, "slurm", f), "utf8").slice(-500)).join("\n") : "";
      throw new Error(`${what}: not done within 240 s: ${JSON.stringify(s)}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

test("local launcher: --jobs 2 shares the protocol between two processes, same summary as one process", () => {
  const one = run([...BASE, "--out", "local-1"]);
  assert.equal(one.code, 0, one.stderr);
  const two = run([...BASE, "--jobs", "2", "--out", "local-2"]);
  assert.equal(two.code, 0, two.stderr);
  assert.deepEqual(summaryOf(join(work, "local-2")), summaryOf(join(work, "local-1")));
  const s = status(join(work, "local-2"));
  assert.deepEqual([s.done, s.planned, s.inProgress.length], [4, 4, 0]);
  const refused = run([...BASE, "--jobs", "2", "--shard", "0/2", "--out", "x"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /give one or the other/);
});

test("slurm launcher: --dry-run writes the array script", () => {
  const r = run([...BASE, "--launcher", "slurm", "--jobs", "3", "--time", "01:00:00", "--partition", "gpu", "--dry-run", "--out", "dry"]);
  assert.equal(r.code, 0, r.stderr);
  const script = readFileSync(join(work, "dry", "slurm", "versus.sbatch"), "utf8");
  for (const line of ["#SBATCH --array=0-2", "#SBATCH --cpus-per-task=1", "#SBATCH --requeue", "#SBATCH --time=01:00:00", "#SBATCH --partition=gpu"]) assert.ok(script.includes(line), `script has ${line}`);
  assert.match(script, /--shard "\$\{SLURM_ARRAY_TASK_ID\}\/3" --threads 1/);
  assert.match(script, new RegExp(`--out ${join(work, "dry").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`), "the output folder is absolute");
});

test("slurm launcher on a real single-node cluster: array of 2 tasks = local run; a requeued job continues its runs", { timeout: 15 * 60_000 }, async (t) => {
  const started = await startCluster();
  if ("unavailable" in started) {
    t.diagnostic(`SKIPPED: Slurm is not available here: ${started.unavailable}`);
    t.skip(`Slurm is not available here: ${started.unavailable}`);
    return;
  }
  const cluster: Cluster = started;
  const env = cluster.env;
  const runIn = (args: string[]) => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: work, env, timeout: 240_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  try {
    const local = run([...BASE, "--out", "ref"]);
    assert.equal(local.code, 0, local.stderr);
    const sub = runIn([...BASE, "--launcher", "slurm", "--jobs", "2", "--out", "slurm-2", "--json"]);
    assert.equal(sub.code, 0, sub.stderr);
    const jobId = (lastJson(sub.stdout) as { jobId: string }).jobId;
    assert.match(jobId, /^\d+$/);
    await waitDone(join(work, "slurm-2"), env, 4, "array job");
    const report = runIn([...BASE, "--report", "--out", "slurm-2"]);
    assert.equal(report.code, 0, report.stderr);
    assert.deepEqual(summaryOf(join(work, "slurm-2")), summaryOf(join(work, "ref")), "the merged summary equals the local one");
    t.diagnostic(`array job ${jobId}: 2 tasks, 4 runs, same summary as the local run`);

    // Longer runs, so a requeue lands inside them: their checkpoints carry them over.
    const LONG = [...PROTOCOL, "--steps", "6000", "--checkpoint-every", "200"];
    const ref = run([...LONG, "--out", "ref-long"]);
    assert.equal(ref.code, 0, ref.stderr);
    const sub2 = runIn([...LONG, "--launcher", "slurm", "--jobs", "2", "--out", "requeue", "--json"]);
    assert.equal(sub2.code, 0, sub2.stderr);
    const job2 = (lastJson(sub2.stdout) as { jobId: string }).jobId;
    const dir = join(work, "requeue", "checkpoints");
    const deadline = Date.now() + 120_000;
    // A finished checkpoint, not the hidden temporary file of one being written.
    while (!(existsSync(dir) && readdirSync(dir).some((f) => !f.startsWith(".") && f.endsWith(".ckpt.safetensors")))) {
      assert.ok(Date.now() < deadline, "a checkpoint appears");
      await new Promise((r) => setTimeout(r, 50));
    }
    const rq = spawnSync("scontrol", ["requeue", job2], { encoding: "utf8", env });
    assert.equal(rq.status, 0, `scontrol requeue: ${rq.stderr}`);
    await waitDone(join(work, "requeue"), env, 4, "requeued job");
    const logs = readdirSync(join(work, "requeue", "slurm")).filter((f) => f.endsWith(".log")).map((f) => readFileSync(join(work, "requeue", "slurm", f), "utf8")).join("\n");
    assert.match(logs, /restart 1/, "a task ran again after the requeue");
    assert.match(logs, /continuing from its checkpoint at step \d+/, "the requeued task continued a run from its checkpoint");
    assert.deepEqual(resultsOf(join(work, "requeue")), resultsOf(join(work, "ref-long")), "the same results as the local run: nothing lost or counted twice");
    assert.equal(readFileSync(join(work, "requeue", "runs.jsonl"), "utf8").trim().split("\n").length, 4, "each run recorded once");
  } finally {
    await cluster.stop();
  }
});
