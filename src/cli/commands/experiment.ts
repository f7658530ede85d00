/** `sparsewire experiment <name>`: run an experiment protocol, writing raw results, a table and figures. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { bundledCorpusPath } from "../../data/files.js";
import type { EngineName } from "../../engine/types.js";
import { EXPERIMENTS } from "../../experiments/registry.js";
import type { ExperimentContext } from "../../experiments/experiment.js";
import { parseShard } from "../../experiments/protocol.js";
import { UsageError } from "../../util/errors.js";
import { LR_SCHEDULE_KINDS, type LrScheduleKind } from "../../train/lr-schedule.js";
import type { TextRunRecipe } from "../../experiments/text-run.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { ENGINE_FLAGS, printJson } from "../common.js";
import { formatDuration, ProgressBar } from "../progress.js";
import { launchLocal, launchStatus, submitSlurm } from "../launcher.js";

export const experimentSpec: CommandSpec = {
  name: "experiment",
  summary: "reproduce a thesis figure or run a comparison: " + EXPERIMENTS.map((e) => e.name).join(", "),
  usage: "sparsewire experiment <" + EXPERIMENTS.map((e) => e.name).join("|") + "> [--quick] [--out DIR] [--text PATH] [--json]",
  flags: [
    { name: "quick", type: "boolean", help: "a small version that finishes in about a minute (used by the tests)" },
    { name: "out", type: "string", value: "DIR", help: "output folder: runs.jsonl, curves.jsonl.gz, summary.md/json, figures (default: results/<name>[-quick])" },
    { name: "text", type: "string", value: "PATH", help: "corpus for text experiments, plain or gzip (default: the bundled 2 M-character text8 excerpt)" },
    { name: "ood", type: "string", value: "PATH[,PATH…]", help: "out-of-domain texts for versus (comma-separated)" },
    { name: "mnist", type: "string", value: "DIR", help: "MNIST folder (idx files) for the utility experiment" },
    { name: "seeds", type: "int", min: 1, max: 1000, value: "N", help: "seeds per configuration (default: the protocol's)" },
    { name: "seed-base", type: "int", min: 0, max: 0xfffffff, value: "S", help: "first seed (tune with other seeds than you report; default 1, recipe: 101)" },
    { name: "steps", type: "int", min: 1, value: "N", help: "training steps per run (default: the protocol's)" },
    { name: "in-degree", type: "int", min: 1, max: 4096, value: "D", help: "versus: the base in-degree (default 29; static-2x and gradual-2x use 2D)" },
    { name: "neurons", type: "int", min: 2, value: "K", help: "text experiments: neurons of the network, inputs and outputs included (default 1700; with --in-degree, compare shapes at equal edges)" },
    { name: "configs", type: "string", value: "A,B,…", help: "only these configurations (versus: static, thesis, set, rigl, thesis-rigl, …; recipe: grid, budget, lr0.003-cosine-w1000, …)" },
    { name: "lr", type: "number", positive: true, value: "RATE", help: "Adam learning rate of the text runs (default: the protocol's, 0.01)" },
    { name: "lr-schedule", type: "string", choices: LR_SCHEDULE_KINDS, value: LR_SCHEDULE_KINDS.join("|"), help: "learning-rate schedule of the text runs, as for train (default: constant)" },
    { name: "warmup", type: "int", min: 0, value: "N", help: "warmup steps of the text runs (default: 0)" },
    { name: "lr-final", type: "number", min: 0, value: "RATE", help: "final rate of the schedule (default: 0 for cosine and linear, lr/100 for step)" },
    { name: "clip-norm", type: "number", min: 0, value: "X", help: "clip gradients to global L2 norm X (default: 0 = off)" },
    { name: "shard", type: "string", value: "i/n", help: "run every n-th run starting at i, so n processes can share one --out folder" },
    { name: "checkpoint-every", type: "int", default: 4096, min: 0, value: "N", help: "each text run saves its whole state every N steps in OUT/checkpoints/, so an interrupted protocol continues inside the run it was in (0: off)" },
    { name: "report", type: "boolean", help: "only rebuild the tables and figures from the results in --out" },
    { name: "launcher", type: "string", default: "local", choices: ["local", "slurm"], value: "local|slurm", help: "local: --jobs processes on this machine share the protocol; slurm: an sbatch array of --jobs tasks (one shard each, requeued on preemption)" },
    { name: "jobs", type: "int", default: 1, min: 1, max: 4096, value: "N", help: "shard processes (local) or array tasks (slurm); local threads are divided between them" },
    { name: "dry-run", type: "boolean", help: "slurm: write OUT/slurm/NAME.sbatch and print it, without submitting" },
    { name: "time", type: "string", value: "HH:MM:SS", help: "slurm: time limit per task (default: the cluster's, or $SBATCH_TIMELIMIT)" },
    { name: "partition", type: "string", value: "P", help: "slurm: partition (default: the cluster's, or $SBATCH_PARTITION)" },
    { name: "tuning", type: "boolean", help: "versus: a tuning run on the validation split only (test and out-of-domain texts are never evaluated, the summary shows validation bits); use another --seed-base than the reported runs" },
    ...ENGINE_FLAGS,
    { name: "json", type: "boolean", help: "print one JSON object with the headline numbers as the last line of stdout" },
    { name: "quiet", type: "boolean", help: "no progress output" },
  ],
  examples: [
    "sparsewire experiment sparsity --quick",
    "sparsewire experiment versus --text ../shared/data/text8/text8.first-6877825-chars.gz --ood alice29.txt.gz,bible.txt.gz --out results/versus",
    "sparsewire experiment versus --shard 0/2 --threads 1 …   (and --shard 1/2 in a second process)",
    "sparsewire experiment recipe --text … --threads 1 --shard 0/2 …   (with 1/2; run both again after: phase B)",
    "sparsewire experiment sparsity --lr 0.003 --lr-schedule cosine --warmup 1000 …   (a training recipe for the text runs)",
    "sparsewire experiment versus --jobs 2 --out results/versus   (two local shard processes, one thread each)",
    "sparsewire experiment versus --launcher slurm --jobs 16 --threads 4 --time 04:00:00 --out results/versus",
    "sparsewire experiment status results/versus",
  ],
};

/** `sparsewire experiment status DIR [--json]`: runs done, failed, in progress and pending (and Slurm tasks). */
function statusCommand(argv: readonly string[]): number {
  const json = argv.includes("--json");
  const rest = argv.filter((a) => a !== "--json");
  const dir = rest[0];
  if (dir === undefined || rest.length > 1 || dir.startsWith("--")) throw new UsageError("usage: sparsewire experiment status DIR [--json]");
  const s = launchStatus(resolve(dir));
  if (json) {
    printJson(s);
    return 0;
  }
  const lines = [
    `${s.experiment} in ${dir}: ${s.done} of ${s.planned} runs done${s.failed ? `, ${s.failed} failed` : ""}, ${s.inProgress.length} in progress, ${s.pending} pending`,
    ...s.inProgress.map((r) => `  in progress: ${r.key} (checkpoint at step ${r.step}, ${formatDuration(r.secondsAgo)} ago)`),
    ...(s.slurm ? [`slurm job ${s.slurm.jobId}: ${Object.entries(s.slurm.tasks).map(([t, st]) => `task ${t} ${st}`).join(", ") || "squeue not available"}`] : []),
    ...(s.pending + s.inProgress.length === 0 && s.planned > 0 ? [`all runs are recorded: \`sparsewire experiment ${s.experiment} … --report --out ${dir}\` writes the tables`] : []),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

export async function experimentCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.length === 0) {
    process.stdout.write(formatHelp(experimentSpec) + "\n\nexperiments:\n" + EXPERIMENTS.map((e) => `  ${e.name.padEnd(10)}${e.summary}`).join("\n") + "\n");
    return argv.length === 0 ? 2 : 0;
  }
  const [name, ...rest] = argv;
  if (name === "status") return statusCommand(rest);
  const experiment = EXPERIMENTS.find((e) => e.name === name);
  if (!experiment) {
    throw new UsageError(`unknown experiment "${name}"`, `experiments are ${EXPERIMENTS.map((e) => e.name).join(", ")}`);
  }
  const flags = parseFlags(experimentSpec, rest);
  const quick = flags.boolean("quick");
  const quiet = flags.boolean("quiet");
  const json = flags.boolean("json");
  const text = flags.string("text");
  if (text !== undefined && !existsSync(text)) throw new UsageError(`--text ${text}: no such file`);
  const oodPaths = (flags.string("ood") ?? "").split(",").filter((s) => s !== "");
  for (const p of oodPaths) if (!existsSync(p)) throw new UsageError(`--ood ${p}: no such file`);
  const progress = new ProgressBar(process.stderr, !quiet && process.stderr.isTTY === true);
  const log = (line: string) => {
    if (!quiet) progress.log(`${experiment.name}: ${line}`);
  };
  const configs = flags.string("configs")?.split(",").filter((s) => s !== "");
  const mnist = flags.string("mnist");
  // As given: the protocol merges them over its own recipe and records only what differs from
  // constant / no warmup / no clipping (text-run.ts, recipeFields).
  const recipe: TextRunRecipe = ({
    ...(flags.string("lr-schedule") !== undefined ? { lrSchedule: flags.string("lr-schedule") as LrScheduleKind } : {}),
    ...(flags.optionalNumber("warmup") !== undefined ? { warmup: flags.number("warmup") } : {}),
    ...(flags.optionalNumber("lr-final") !== undefined ? { lrFinal: flags.number("lr-final") } : {}),
    ...(flags.optionalNumber("clip-norm") !== undefined ? { clipNorm: flags.number("clip-norm") } : {}),
  });
  const ctx: ExperimentContext = {
    out: resolve(flags.string("out") ?? `results/${experiment.name}${quick ? "-quick" : ""}`),
    quick,
    textPath: text ?? bundledCorpusPath(),
    bundled: text === undefined,
    oodPaths,
    ...(mnist !== undefined ? { mnistPath: mnist } : {}),
    ...(flags.optionalNumber("seeds") !== undefined ? { seeds: flags.number("seeds") } : {}),
    ...(flags.optionalNumber("steps") !== undefined ? { steps: flags.number("steps") } : {}),
    ...(configs ? { configs } : {}),
    ...(flags.optionalNumber("in-degree") !== undefined ? { inDegree: flags.number("in-degree") } : {}),
    ...(flags.optionalNumber("neurons") !== undefined ? { neurons: flags.number("neurons") } : {}),
    seedBase: flags.optionalNumber("seed-base") ?? experiment.defaultSeedBase ?? 1,
    ...(flags.optionalNumber("lr") !== undefined ? { lr: flags.number("lr") } : {}),
    ...(Object.keys(recipe).length > 0 ? { recipe } : {}),
    engine: flags.string("engine") as EngineName,
    ...(flags.optionalNumber("threads") !== undefined ? { threads: flags.number("threads") } : {}),
    ...(flags.string("shard") !== undefined ? { shard: parseShard(flags.string("shard")!) } : {}),
    checkpointEvery: flags.number("checkpoint-every"),
    reportOnly: flags.boolean("report"),
    tuning: flags.boolean("tuning"),
    log,
    onProgress: (p) => progress.update((p.done + p.fraction) / Math.max(p.total, 1), `run ${p.done + 1}/${p.total} · ${p.text} · ETA ${formatDuration(p.eta)}`),
  };
  const launcher = flags.requireString("launcher");
  const jobs = flags.number("jobs");
  if (launcher === "slurm" || jobs > 1) {
    if (flags.string("shard") !== undefined) throw new UsageError("--shard splits a protocol by hand; --jobs and --launcher do it for you: give one or the other");
    if (ctx.reportOnly) throw new UsageError("--report rebuilds the tables from a folder; leave out --jobs and --launcher");
    for (const f of ["dry-run", "time", "partition"]) if (launcher === "local" && flags.given(f)) throw new UsageError(`--${f} is for --launcher slurm`);
    if (launcher === "slurm") {
      const threads = flags.optionalNumber("threads") ?? 1;
      const submitted = submitSlurm({ name: experiment.name, argv: rest, out: ctx.out, tasks: jobs, threads, ...(flags.string("time") !== undefined ? { time: flags.string("time")! } : {}), ...(flags.string("partition") !== undefined ? { partition: flags.string("partition")! } : {}) }, flags.boolean("dry-run"));
      if (json) printJson({ experiment: experiment.name, out: ctx.out, script: submitted.path, tasks: jobs, threads, ...(submitted.jobId !== undefined ? { jobId: submitted.jobId } : { dryRun: true }) });
      else if (submitted.jobId === undefined) process.stdout.write(`${submitted.script}\n(written to ${submitted.path}; submit it with: sbatch ${submitted.path})\n`);
      else process.stdout.write(`submitted Slurm job ${submitted.jobId}: ${jobs} task${jobs === 1 ? "" : "s"} × ${threads} CPU${threads === 1 ? "" : "s"} (${submitted.path})\nfollow it: sparsewire experiment status ${ctx.out}\nwhen it is done: sparsewire experiment ${experiment.name} --report --out ${ctx.out} (same flags)\n`);
      return 0;
    }
    await launchLocal(experiment.name, rest, ctx.out, jobs, flags.optionalNumber("threads"), quiet);
    ctx.reportOnly = true; // every run is recorded: write the tables
  }
  const started = performance.now();
  let output;
  try {
    output = await experiment.run(ctx);
  } finally {
    progress.done();
  }
  const seconds = (performance.now() - started) / 1000;
  if (json) printJson({ experiment: experiment.name, out: ctx.out, quick, seconds: Math.round(seconds * 10) / 10, ...output });
  else if (!quiet) {
    process.stdout.write(
      [
        `${experiment.name}: ${output.runsDone} of ${output.runsPlanned} runs recorded${output.failed ? ` (${output.failed} failed)` : ""} in ${ctx.out} (${formatDuration(seconds)} this time)`,
        ...output.files.map((f) => `  wrote ${f}`),
      ].join("\n") + "\n",
    );
  }
  return 0;
}
