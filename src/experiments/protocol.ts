/**
 * Running an experiment protocol: a list of runs (settings × seeds), executed one by one, each
 * finished run appended as one JSON line to `runs.jsonl` in the output folder. A protocol that is
 * interrupted resumes where it stopped: runs whose key is already recorded are not redone. Several
 * processes may share a folder (`shard`), each taking every n-th run; appends of one line are atomic.
 * A run being trained is claimed by a lock file (`checkpoints/<key>.lock`: pid, host), so two
 * processes started on one folder by mistake never train the same run twice: the second skips it.
 *
 * Per-step training losses are bulky, so they go to `curves.jsonl.gz`, one gzip member per run
 * (concatenated members form a valid gzip stream).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { processAlive, removeStaleTemps, writeFileAtomic } from "../io/atomic.js";
import { NumericError, SparsewireError, UsageError } from "../util/errors.js";
import { decodeCheckpoint, encodeCheckpoint, type RunCheckpoint } from "../run/index.js";

export interface RunSpec {
  /** Unique within the protocol; the resume key. */
  key: string;
  /** Runs with the same group are seeds of one configuration. */
  group: string;
  seed: number;
  settings: Record<string, unknown>;
  /** Relative cost (e.g. edges × steps), for the ETA. */
  cost: number;
}

export interface RunRecord<R = Record<string, unknown>> {
  experiment: string;
  key: string;
  group: string;
  seed: number;
  settings: Record<string, unknown>;
  /** "failed": the run diverged or produced a non-finite loss; reported, never hidden. */
  status: "ok" | "failed";
  error?: string;
  result?: R;
  seconds: number;
  finished: string;
}

export interface RunProgress {
  done: number;
  total: number;
  current: string;
  /** Fraction of the current run done. */
  fraction: number;
  text: string;
  /** Seconds until the protocol is done (NaN until one run has finished in this process). */
  eta: number;
}

export interface ProtocolOptions {
  out: string;
  experiment: string;
  /** Everything that defines the protocol (quick or full, corpus, steps…): a folder holds one protocol. */
  protocol: Record<string, unknown>;
  shard?: { index: number; count: number };
  onProgress?: (p: RunProgress) => void;
  log?: (line: string) => void;
  /** Steps between the runs' checkpoints (default PROTOCOL_CHECKPOINT_EVERY; 0: none). */
  checkpointEvery?: number;
}

/** The checkpoint a run left, if it was saved for exactly these settings (else it is ignored, and said so). */
function runCheckpoint(path: string, run: RunSpec, log?: (line: string) => void): RunCheckpoint | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const loaded = decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
    if (JSON.stringify(loaded.settings["settings"]) !== JSON.stringify(run.settings)) {
      log?.(`${path} was saved for other settings: ${run.key} starts again`);
      return undefined;
    }
    return loaded.checkpoint;
  } catch (error) {
    if (!(error instanceof SparsewireError)) throw error;
    log?.(`${path} cannot be read (${error.message}): ${run.key} starts again`);
    return undefined;
  }
}

/** Context handed to a run: report progress, keep its per-step losses. */
export interface RunContext {
  progress(fraction: number, text: string): void;
  /** Store the per-step training losses (bits per symbol) of this run in curves.jsonl.gz. */
  saveCurve(losses: ArrayLike<number>): void;
  /**
   * Checkpoints of this run (issue 14): a run interrupted mid-way continues from its last one, bit
   * for bit. The file is `checkpoints/<key>.ckpt.safetensors` in the folder, removed once the run is
   * recorded.
   */
  checkpoint: RunCheckpointing;
}

/** Where a run saves its checkpoints, how often, and the one it resumes from (if any). */
export interface RunCheckpointing {
  /** Steps between checkpoints (0: none). */
  every: number;
  resume?: RunCheckpoint;
  save(checkpoint: RunCheckpoint): void;
}

export const CHECKPOINTS_FOLDER = "checkpoints";
/** The runs a protocol plans (all shards), for `experiment status`. */
export const PLAN_FILE = "plan.json";
/** Steps between a protocol run's checkpoints: about every 10–30 s at the thesis size. */
export const PROTOCOL_CHECKPOINT_EVERY = 4096;

export const RUNS_FILE = "runs.jsonl";
export const CURVES_FILE = "curves.jsonl.gz";
export const PROTOCOL_FILE = "protocol.json";

/**
 * Settings that may change between invocations on one folder: more seeds only add runs (each run is
 * keyed by its seed), so a protocol can be extended; the folder keeps the latest value.
 */
export const EXTENDABLE = ["seeds"];

/**
 * Prepare the folder: create it, or check that it holds this protocol. `readOnly` (--report) only
 * checks: the folder must hold this protocol's results, and nothing is written, so a report made
 * with another extendable setting (--seeds) cannot rewrite what the folder says it ran.
 */
export function openProtocol(out: string, experiment: string, protocol: Record<string, unknown>, o: { readOnly?: boolean } = {}): void {
  const path = join(out, PROTOCOL_FILE);
  if (o.readOnly && !existsSync(path)) throw new UsageError(`${out} holds no results to report (no ${PROTOCOL_FILE})`, "run the experiment first, or give its --out folder");
  mkdirSync(out, { recursive: true });
  const wanted = JSON.stringify({ experiment, protocol }, null, 2) + "\n";
  if (!existsSync(path)) {
    writeFileAtomic(path, wanted);
    return;
  }
  const have = readFileSync(path, "utf8");
  if (have === wanted) return;
  let parsed: { experiment?: string; protocol?: Record<string, unknown> };
  try {
    parsed = JSON.parse(have) as typeof parsed;
  } catch {
    throw new UsageError(`${out}/${PROTOCOL_FILE} is not valid JSON; the results folder is damaged`, "use another --out folder");
  }
  if (parsed.experiment !== experiment) {
    throw new UsageError(`${out} holds results of experiment "${parsed.experiment}"; results of different protocols are never mixed`, "use another --out folder");
  }
  const diff = Object.keys({ ...parsed.protocol, ...protocol }).filter((k) => JSON.stringify(parsed.protocol?.[k]) !== JSON.stringify(protocol[k]));
  const fixed = diff.filter((k) => !EXTENDABLE.includes(k));
  if (fixed.length > 0) {
    throw new UsageError(`${out} holds results of a protocol that differs in ${fixed.join(", ")}; results of different protocols are never mixed`, "use another --out folder, or delete the old one");
  }
  if (!o.readOnly) writeFileAtomic(path, wanted);
}

/** The planned runs (every shard writes the same list; the last writer wins whole). */
function writePlan(out: string, runs: readonly RunSpec[]): void {
  const text = JSON.stringify({ runs: runs.map((r) => ({ key: r.key, group: r.group, seed: r.seed })) }) + "\n";
  const path = join(out, PLAN_FILE);
  if (!existsSync(path) || readFileSync(path, "utf8") !== text) writeFileAtomic(path, text);
}

/** Where a protocol folder stands: runs done, failed, in progress (a checkpoint exists), pending. */
export interface ProtocolStatus {
  experiment: string;
  planned: number;
  done: number;
  failed: number;
  /** Runs with a checkpoint: started and not recorded (running, or stopped and waiting to continue). */
  inProgress: { key: string; step: number; secondsAgo: number }[];
  pending: number;
  /** Planned runs not yet recorded, in plan order. */
  remaining: string[];
}

/** Reads a protocol folder (protocol.json, plan.json, runs.jsonl, checkpoints/). */
export function protocolStatus(out: string): ProtocolStatus {
  const protocolPath = join(out, PROTOCOL_FILE);
  if (!existsSync(protocolPath)) throw new UsageError(`${out} is not an experiment folder (no ${PROTOCOL_FILE})`);
  const experiment = (JSON.parse(readFileSync(protocolPath, "utf8")) as { experiment: string }).experiment;
  const planPath = join(out, PLAN_FILE);
  const plan = existsSync(planPath) ? (JSON.parse(readFileSync(planPath, "utf8")) as { runs: { key: string }[] }).runs.map((r) => r.key) : [];
  const records = readRecords(out);
  const recorded = new Set(records.map((r) => r.key));
  const inProgress: ProtocolStatus["inProgress"] = [];
  const dir = join(out, CHECKPOINTS_FOLDER);
  if (existsSync(dir)) {
    for (const file of readdirSync(dir)) {
      const m = file.startsWith(".") ? null : /^(.*)\.ckpt\.safetensors$/.exec(file);
      if (!m || recorded.has(m[1]!)) continue;
      const path = join(dir, file);
      let step = -1;
      let mtime: number;
      try {
        // A shard may record the run and remove its checkpoint between the listing and here.
        mtime = statSync(path).mtimeMs;
      } catch {
        continue;
      }
      try {
        step = decodeCheckpoint(new Uint8Array(readFileSync(path)), path).checkpoint.step;
      } catch {
        /* being replaced, removed or damaged: shown with step -1 */
      }
      inProgress.push({ key: m[1]!, step, secondsAgo: Math.round((Date.now() - mtime) / 1000) });
    }
  }
  const remaining = plan.filter((k) => !recorded.has(k));
  const running = new Set(inProgress.map((r) => r.key));
  return {
    experiment,
    planned: Math.max(plan.length, records.length),
    done: records.filter((r) => r.status === "ok").length,
    failed: records.filter((r) => r.status === "failed").length,
    inProgress,
    pending: remaining.filter((k) => !running.has(k)).length,
    remaining,
  };
}

/** Every run recorded in the folder (all shards, all sessions). Torn lines are ignored. */
export function readRecords<R = Record<string, unknown>>(out: string): RunRecord<R>[] {
  const path = join(out, RUNS_FILE);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, "utf8").split("\n");
  const records: RunRecord<R>[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let r: RunRecord<R>;
    try {
      r = JSON.parse(line) as RunRecord<R>;
    } catch {
      continue; // torn line of a killed process: that run was not finished and will be redone
    }
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    records.push(r);
  }
  return records;
}

/** Per-step losses of every run with a saved curve, by key. */
export function readCurves(out: string): Map<string, Float32Array> {
  const path = join(out, CURVES_FILE);
  const curves = new Map<string, Float32Array>();
  if (!existsSync(path)) return curves;
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString("utf8");
  } catch {
    // A member cut short by a kill: keep the complete ones.
    text = gunzipSync(readFileSync(path), { finishFlush: 2 /* Z_SYNC_FLUSH */ }).toString("utf8");
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const { key, losses } = JSON.parse(line) as { key: string; losses: number[] };
      curves.set(key, Float32Array.from(losses));
    } catch {
      /* torn line */
    }
  }
  return curves;
}

/** A lock not touched for this long, held on another host, is taken as abandoned (a crashed job). */
export const LOCK_STALE_SECONDS = 30 * 60;

/**
 * Claim a run: create its lock file exclusively; take over a lock whose process is gone (same host)
 * or that nobody touched for LOCK_STALE_SECONDS (another host). Returns the holder when the run is
 * someone else's, else undefined (claimed).
 */
export function claimRun(out: string, key: string): string | undefined {
  const dir = join(out, CHECKPOINTS_FOLDER);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${key}.lock`);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }) + "\n";
  try {
    writeFileSync(path, mine, { flag: "wx" });
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  let holder: { pid?: unknown; host?: unknown } = {};
  try {
    holder = JSON.parse(readFileSync(path, "utf8")) as typeof holder;
  } catch {
    // unreadable or half-written: treated as abandoned below
  }
  const sameHost = holder.host === hostname();
  const pid = typeof holder.pid === "number" ? holder.pid : NaN;
  const fresh = (Date.now() - statSync(path).mtimeMs) / 1000 < LOCK_STALE_SECONDS;
  const held = Number.isInteger(pid) && pid !== process.pid && (sameHost ? processAlive(pid) : fresh);
  if (held) return `pid ${pid} on ${String(holder.host)}`;
  writeFileSync(path, mine);
  return undefined;
}

/** Run every run not yet recorded (of this shard); return all records in the folder. */
export async function runProtocol<R>(
  runs: readonly RunSpec[],
  execute: (run: RunSpec, ctx: RunContext) => Promise<R>,
  o: ProtocolOptions,
): Promise<RunRecord<R>[]> {
  const keys = new Set<string>();
  for (const r of runs) {
    if (keys.has(r.key)) throw new Error(`duplicate run key ${r.key}`);
    keys.add(r.key);
  }
  openProtocol(o.out, o.experiment, o.protocol);
  writePlan(o.out, runs);
  // A process killed mid-line leaves no newline: start on a fresh line so the next record is whole.
  const runsPath = join(o.out, RUNS_FILE);
  if (existsSync(runsPath)) {
    const text = readFileSync(runsPath);
    if (text.length > 0 && text[text.length - 1] !== 0x0a) appendFileSync(runsPath, "\n");
  }
  const done = new Set(readRecords(o.out).map((r) => r.key));
  const shard = o.shard ?? { index: 0, count: 1 };
  const mine = runs.filter((_, i) => i % shard.count === shard.index);
  const todo = mine.filter((r) => !done.has(r.key));
  if (done.size > 0 && todo.length < mine.length) o.log?.(`resuming: ${mine.length - todo.length} of ${mine.length} runs already done in ${o.out}`);
  const totalCost = todo.reduce((s, r) => s + r.cost, 0);
  let costDone = 0;
  let secondsDone = 0;
  for (let i = 0; i < todo.length; i++) {
    const run = todo[i]!;
    // Another process on this folder may have recorded or be training it (two started by mistake).
    if (i > 0 && readRecords(o.out).some((r) => r.key === run.key)) {
      o.log?.(`${run.key}: recorded by another process meanwhile; skipped`);
      continue;
    }
    const holder = claimRun(o.out, run.key);
    if (holder !== undefined) {
      o.log?.(`${run.key}: another process (${holder}) is training it; skipped`);
      continue;
    }
    const lockPath = join(o.out, CHECKPOINTS_FOLDER, `${run.key}.lock`);
    let touched = performance.now();
    const started = performance.now();
    const report = (fraction: number, text: string) => {
      // Keep the claim fresh for processes on other hosts (LOCK_STALE_SECONDS).
      if (performance.now() - touched > 60_000) {
        touched = performance.now();
        const now = new Date();
        utimesSync(lockPath, now, now);
      }
      const elapsed = secondsDone + (performance.now() - started) / 1000;
      const costNow = costDone + fraction * run.cost;
      const eta = costNow > 0 && elapsed > 5 ? (elapsed / costNow) * (totalCost - costNow) : NaN;
      o.onProgress?.({ done: mine.length - todo.length + i, total: mine.length, current: run.key, fraction, text, eta });
    };
    let curve: ArrayLike<number> | undefined;
    const checkpointPath = join(o.out, CHECKPOINTS_FOLDER, `${run.key}.ckpt.safetensors`);
    const resume = runCheckpoint(checkpointPath, run, o.log);
    if (resume) o.log?.(`${run.key}: continuing from its checkpoint at step ${resume.step}`);
    const checkpoint: RunCheckpointing = {
      every: o.checkpointEvery ?? PROTOCOL_CHECKPOINT_EVERY,
      ...(resume ? { resume } : {}),
      save: (c) => {
        mkdirSync(join(o.out, CHECKPOINTS_FOLDER), { recursive: true });
        writeFileAtomic(checkpointPath, encodeCheckpoint(c, { key: run.key, settings: run.settings }));
      },
    };
    const ctx: RunContext = { progress: report, saveCurve: (losses) => (curve = losses), checkpoint };
    report(0, "starting");
    let record: RunRecord<R>;
    try {
      const result = await execute(run, ctx);
      record = { experiment: o.experiment, key: run.key, group: run.group, seed: run.seed, settings: run.settings, status: "ok", result, seconds: 0, finished: "" };
    } catch (error) {
      // Divergence is a result (the thesis saw it at d = 15); anything else is a bug or a user error.
      if (!(error instanceof NumericError)) throw error;
      record = { experiment: o.experiment, key: run.key, group: run.group, seed: run.seed, settings: run.settings, status: "failed", error: error.message, seconds: 0, finished: "" };
      o.log?.(`run ${run.key} failed: ${error.message}`);
    }
    const seconds = (performance.now() - started) / 1000;
    record.seconds = Math.round(seconds * 1000) / 1000;
    record.finished = new Date().toISOString();
    if (curve) {
      const losses = Array.from(curve, (x) => Math.round(x * 1e4) / 1e4);
      appendFileSync(join(o.out, CURVES_FILE), gzipSync(JSON.stringify({ key: run.key, losses }) + "\n"));
    }
    // The run line goes last: a run is done only when its curve is stored too.
    appendFileSync(join(o.out, RUNS_FILE), JSON.stringify(record) + "\n");
    rmSync(checkpointPath, { force: true });
    // A run killed while saving its checkpoint leaves the save's temporary file: clear it with the checkpoint.
    removeStaleTemps(checkpointPath);
    rmSync(lockPath, { force: true });
    secondsDone += seconds;
    costDone += run.cost;
    o.log?.(`run ${mine.length - todo.length + i + 1}/${mine.length} ${run.key}: ${record.status} in ${seconds.toFixed(1)} s`);
  }
  return readRecords<R>(o.out) as RunRecord<R>[];
}

/** Parse "i/n" for --shard. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 0 && index < count)) throw new UsageError(`--shard must be i/n with 0 ≤ i < n (e.g. 0/2), got "${text}"`);
  return { index, count };
}
