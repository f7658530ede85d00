/**
 * What `train` (text) and `train --data` (samples) share about checkpoints: reading one for
 * --resume, the flags it was trained with, where the next one goes, and Ctrl-C / SIGTERM handling
 * (save a checkpoint after the current step and stop; a second signal stops at once).
 */
import { existsSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { writeFileAtomic } from "../io/atomic.js";
import { decodeCheckpoint, encodeCheckpoint, type LoadedCheckpoint, type RunCheckpoint } from "../run/index.js";
import { UsageError } from "../util/errors.js";
import type { Flags, FlagsRecord } from "./args.js";
import type { ProgressBar } from "./progress.js";

/** Flags a resumed run may change: budgets, outputs, validation cadence, threads (which changes the bits: warned). */
export const RESUME_OVERRIDABLE = ["resume", "steps", "minutes", "save", "log", "eval-every", "eval-windows", "checkpoint", "checkpoint-every", "threads", "json", "quiet"];

export function readCheckpointFile(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new UsageError(`checkpoint ${path} does not exist`);
  const bytes = readFileSync(path);
  return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** The flags `sparsewire train` stored in a checkpoint. */
export function storedFlags(loaded: LoadedCheckpoint, path: string): FlagsRecord {
  const f = loaded.settings["flags"] as FlagsRecord | undefined;
  if (!f || typeof f !== "object" || typeof f.values !== "object" || !Array.isArray(f.given)) {
    throw new UsageError(`checkpoint ${path} was not written by \`sparsewire train\` (no flags stored)`, "resume it through the library (RunSettings.resume) with the settings it ran with");
  }
  return f;
}

/** --checkpoint, else the checkpoint resumed from, else NAME.ckpt.safetensors beside --save, else sparsewire-train.ckpt.safetensors. */
export function checkpointPathOf(flags: Flags, resumePath: string | undefined): string {
  const savePath = flags.string("save");
  return flags.string("checkpoint") ?? resumePath ?? (savePath !== undefined ? savePath.replace(/\.(json|safetensors)$/i, "") + ".ckpt.safetensors" : "sparsewire-train.ckpt.safetensors");
}

/**
 * Writes a checkpoint atomically (temporary file, fsync, rename) with what `--resume` needs beside
 * it. `record` is asked for at the first save only (a hash of the data need not be computed by
 * runs that never save one).
 */
export function checkpointSaver(path: string, record: () => Record<string, unknown>): (c: RunCheckpoint) => void {
  let stored: Record<string, unknown> | undefined;
  return (c) => writeFileAtomic(path, encodeCheckpoint(c, (stored ??= record())));
}

/** What a resumed run says first: a changed --threads (it continues, but not bit for bit), and where it continues. */
export function announceResume(loaded: LoadedCheckpoint, path: string, threadsGiven: boolean, threads: number | undefined, say: (line: string) => void): void {
  const was = storedFlags(loaded, path).values["threads"];
  if (threadsGiven && was !== threads) say(`warning: --threads ${threads} differs from the run's ${String(was ?? "default")}: it continues, but not bit for bit (sums are split differently)`);
  say(`resuming ${path} at step ${loaded.checkpoint.step}`);
}

/** FNV-1a over bytes, continuing from `h`: a resumed run must read the same data. */
export function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

/** A run stopped by SIGINT or SIGTERM after saving its checkpoint. */
export class Interrupted extends Error {
  constructor(
    readonly signal: "SIGINT" | "SIGTERM",
    readonly step: number,
    readonly path: string,
  ) {
    super(`interrupted (${signal}) after step ${step}`);
  }
}

/**
 * Ctrl-C or SIGTERM while training: the next `afterStep` saves a checkpoint and throws Interrupted
 * (exit 130 / 143); a second signal stops at once. `dispose()` removes the handlers.
 */
export class InterruptGuard {
  private pending: "SIGINT" | "SIGTERM" | undefined;
  private readonly onSigint = () => this.onSignal("SIGINT");
  private readonly onSigterm = () => this.onSignal("SIGTERM");
  constructor(private readonly progress: ProgressBar) {
    process.on("SIGINT", this.onSigint);
    process.on("SIGTERM", this.onSigterm);
  }

  private onSignal(signal: "SIGINT" | "SIGTERM"): void {
    if (this.pending) {
      process.stderr.write(`\nsparsewire: ${signal} again: stopping without a checkpoint\n`);
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    this.pending = signal;
    this.progress.log(`sparsewire: ${signal}: saving a checkpoint after this step (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again stops at once)`);
  }

  private lastYield = performance.now();

  /**
   * After a step: when a signal came, save `take()` and stop. Otherwise, every 100 ms, a promise that
   * hands the event loop a turn (training waits for it), so that a signal gets in between two steps.
   */
  afterStep(step: number, take: () => RunCheckpoint, save: (c: RunCheckpoint) => void, path: string): Promise<void> | undefined {
    if (this.pending) {
      save(take());
      throw new Interrupted(this.pending, step, path);
    }
    if (performance.now() - this.lastYield <= 100) return undefined;
    this.lastYield = performance.now();
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  dispose(): void {
    process.off("SIGINT", this.onSigint);
    process.off("SIGTERM", this.onSigterm);
  }
}

/** The message and exit code of an Interrupted run. */
export function reportInterrupted(error: Interrupted, progress: ProgressBar): number {
  progress.done();
  process.stderr.write(`sparsewire: interrupted after step ${error.step}: checkpoint saved to ${error.path}\nhint: continue with: sparsewire train --resume ${error.path}\n`);
  return error.signal === "SIGINT" ? 130 : 143;
}
