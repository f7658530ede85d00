/**
 * Launching an experiment's shards (issue 14 item 3). A protocol is a list of runs that processes
 * share by `--shard i/n` (experiments/protocol.ts: each takes every n-th run, each finished run is
 * one appended line, each run checkpoints itself). This file starts those processes:
 * - `local`: n child processes of this command on this machine, the threads divided between them,
 *   one progress line read from the folder, then the report;
 * - `slurm`: an sbatch array script, one task per shard (`--requeue`: a preempted task starts again
 *   and continues from its runs' checkpoints), submitted with sbatch or printed (`--dry-run`).
 * `sparsewire experiment status DIR` reads the folder (and squeue, for a Slurm job).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { cpus } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/atomic.js";
import { protocolStatus, type ProtocolStatus } from "../experiments/protocol.js";
import { SparsewireError, UsageError } from "../util/errors.js";
import { formatDuration, ProgressBar } from "./progress.js";

const CLI = fileURLToPath(new URL("./main.js", import.meta.url));

/** Flags that name files: made absolute, since a Slurm task may start elsewhere. */
const PATH_FLAGS = ["out", "text", "mnist"];

/** The experiment's argv for one shard: launcher flags removed, paths absolute, shard and threads set. */
export function shardArgs(name: string, argv: readonly string[], shard: string, threads: number, extra: readonly string[] = []): string[] {
  const out: string[] = ["experiment", name];
  const drop = new Set(["--launcher", "--jobs", "--dry-run", "--time", "--partition", "--threads", "--json", "--quiet"]);
  const withValue = new Set(["--launcher", "--jobs", "--time", "--partition", "--threads"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (drop.has(flag)) {
      if (withValue.has(flag) && inline === undefined) i++;
      continue;
    }
    if (PATH_FLAGS.includes(flag.slice(2))) {
      const value = inline ?? argv[++i]!;
      out.push(flag, isAbsolute(value) ? value : resolve(value));
      continue;
    }
    if (flag === "--ood") {
      const value = inline ?? argv[++i]!;
      out.push(flag, value.split(",").map((p) => (isAbsolute(p) ? p : resolve(p))).join(","));
      continue;
    }
    out.push(a);
  }
  return [...out, "--shard", shard, "--threads", String(threads), ...extra];
}

/**
 * `--launcher local --jobs N`: N shard processes share the folder; this process shows one progress
 * line (runs recorded, from the folder) and returns when all have ended. A failed shard fails the launch.
 */
export async function launchLocal(name: string, argv: readonly string[], out: string, jobs: number, threads: number | undefined, quiet: boolean): Promise<void> {
  const perJob = Math.max(1, Math.floor((threads ?? cpus().length) / jobs));
  const progress = new ProgressBar(process.stderr, !quiet && process.stderr.isTTY === true);
  const started = performance.now();
  const children = Array.from({ length: jobs }, (_, i) => {
    const child = spawn(process.execPath, [CLI, ...shardArgs(name, argv, `${i}/${jobs}`, perJob, ["--quiet"])], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    return { child, done: new Promise<{ code: number | null; stderr: string }>((ok) => child.on("exit", (code) => ok({ code, stderr }))) };
  });
  const stopAll = () => children.forEach((c) => c.child.kill("SIGTERM"));
  process.once("SIGINT", stopAll);
  process.once("SIGTERM", stopAll);
  if (!quiet) process.stderr.write(`${name}: ${jobs} local shard processes, ${perJob} thread${perJob === 1 ? "" : "s"} each, sharing ${out}\n`);
  const timer = setInterval(() => {
    if (!existsSync(join(out, "protocol.json"))) return;
    const s = protocolStatus(out);
    const seconds = (performance.now() - started) / 1000;
    progress.update((s.done + s.failed) / Math.max(1, s.planned), `${s.done + s.failed}/${s.planned} runs recorded · ${s.inProgress.length} in progress · ${formatDuration(seconds)}`);
  }, 1000);
  try {
    const results = await Promise.all(children.map((c) => c.done));
    const failed = results.map((r, i) => ({ ...r, i })).filter((r) => r.code !== 0);
    if (failed.length > 0) {
      const first = failed[0]!;
      throw new SparsewireError("usage", `shard ${first.i}/${jobs} exited with ${first.code}${failed.length > 1 ? ` (and ${failed.length - 1} more shards)` : ""}: ${first.stderr.trim().split("\n").slice(-1)[0] ?? ""}`, "the runs recorded so far are kept; run the same command again to continue");
    }
  } finally {
    clearInterval(timer);
    progress.done();
    process.off("SIGINT", stopAll);
    process.off("SIGTERM", stopAll);
  }
}

export interface SlurmOptions {
  name: string;
  argv: readonly string[];
  out: string;
  tasks: number;
  threads: number;
  time?: string;
  partition?: string;
}

/** The sbatch array script: one task per shard, requeued on preemption, logs in OUT/slurm/. */
export function slurmScript(o: SlurmOptions): string {
  const quote = (a: string) => (/^[A-Za-z0-9_/.,:=+@%-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  // Not --quiet: the task's log shows its runs (and a run continuing from its checkpoint after a requeue).
  const command = [process.execPath, CLI, ...shardArgs(o.name, o.argv, "${SLURM_ARRAY_TASK_ID}/" + o.tasks, o.threads)];
  const logs = join(o.out, "slurm");
  return [
    "#!/bin/bash",
    `# sparsewire experiment ${o.name}: ${o.tasks} shard${o.tasks === 1 ? "" : "s"} of the protocol in ${o.out}.`,
    "# Each task runs its shard; a requeued task continues its runs from their checkpoints.",
    `#SBATCH --job-name=sparsewire-${o.name}`,
    `#SBATCH --array=0-${o.tasks - 1}`,
    `#SBATCH --cpus-per-task=${o.threads}`,
    "#SBATCH --ntasks=1",
    "#SBATCH --requeue",
    "#SBATCH --open-mode=append",
    `#SBATCH --output=${logs}/task-%a.log`,
    `#SBATCH --chdir=${process.cwd()}`,
    ...(o.time !== undefined ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.partition !== undefined ? [`#SBATCH --partition=${o.partition}`] : []),
    "set -euo pipefail",
    `echo "task \${SLURM_ARRAY_TASK_ID} (job \${SLURM_ARRAY_JOB_ID}, restart \${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -Is)"`,
    command.map((a) => (a.includes("${SLURM_ARRAY_TASK_ID}") ? `"${a}"` : quote(a))).join(" "),
    "",
  ].join("\n");
}

/** Writes the script to OUT/slurm/NAME.sbatch and submits it (unless dryRun); returns the job id. */
export function submitSlurm(o: SlurmOptions, dryRun: boolean): { script: string; path: string; jobId?: string } {
  const script = slurmScript(o);
  const dir = join(o.out, "slurm");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${o.name}.sbatch`);
  writeFileAtomic(path, script);
  if (dryRun) return { script, path };
  const r = spawnSync("sbatch", ["--parsable", path], { encoding: "utf8" });
  if (r.error) throw new UsageError(`cannot run sbatch: ${r.error.message}`, "is Slurm installed and on the PATH? --dry-run writes the script without submitting it");
  if (r.status !== 0) throw new UsageError(`sbatch refused ${path}: ${r.stderr.trim().split("\n").slice(-1)[0] ?? `exit ${r.status}`}`);
  const jobId = r.stdout.trim().split(";")[0]!;
  writeFileAtomic(join(dir, "job.json"), JSON.stringify({ jobId, experiment: o.name, tasks: o.tasks, script: path, submitted: new Date().toISOString() }, null, 1) + "\n");
  return { script, path, jobId };
}

/** Status of a protocol folder, with the Slurm tasks' states when a job was submitted from it. */
export interface LaunchStatus extends ProtocolStatus {
  slurm?: { jobId: string; tasks: Record<string, string> };
}

export function launchStatus(out: string): LaunchStatus {
  const jobPath = join(out, "slurm", "job.json");
  // A submitted job whose tasks have not started yet has no protocol.json: nothing run, all pending.
  const status: LaunchStatus = existsSync(join(out, "protocol.json")) || !existsSync(jobPath)
    ? protocolStatus(out)
    : { experiment: (JSON.parse(readFileSync(jobPath, "utf8")) as { experiment?: string }).experiment ?? "?", planned: 0, done: 0, failed: 0, inProgress: [], pending: 0, remaining: [] };
  if (existsSync(jobPath)) {
    const job = JSON.parse(readFileSync(jobPath, "utf8")) as { jobId: string; tasks: number };
    const tasks: Record<string, string> = {};
    const q = spawnSync("squeue", ["-h", "-r", "-j", job.jobId, "-o", "%K %T"], { encoding: "utf8" });
    if (!q.error && q.status === 0) {
      for (const line of q.stdout.trim().split("\n").filter(Boolean)) {
        const [task, state] = line.trim().split(/\s+/);
        if (task !== undefined && state !== undefined) tasks[task] = state;
      }
      for (let t = 0; t < job.tasks; t++) tasks[String(t)] ??= "ENDED";
    }
    status.slurm = { jobId: job.jobId, tasks };
  }
  return status;
}
