/**
 * The threads of one wasm engine: the calling thread is thread 0, workers are 1..threads−1, all
 * running the same kernels on one shared WebAssembly.Memory. They talk only through a small control
 * block of Int32 words in that memory (Atomics), never through messages, so a command costs two
 * wake-ups and at most one barrier:
 *
 *   thread 0 bumps GENERATION → every thread runs runPhase1 (its tiles of the batch)
 *   → barrier (only for two-phase commands) → runPhase2 (its slice of the parameters)
 *   → workers count themselves in DONE; thread 0 waits for all of them.
 *
 * Waiting spins briefly (a step takes milliseconds; a futex wake-up costs tens of microseconds),
 * then blocks in Atomics.wait — except on a browser window's main thread, which may only spin.
 * Platform-free: used by worker-core.ts in workers and by engine.ts on the calling thread.
 */

export const CONTROL_WORDS = 16;
export const CONTROL_BYTES = CONTROL_WORDS * 4;
const GENERATION = 0;
const COMMAND = 1; // COMMAND_RUN or COMMAND_EXIT
const ACTIVE = 2; // threads taking part (≤ threads: a small batch has fewer tiles than threads)
const PHASES = 3; // 1 or 2
const DONE = 4; // workers finished with the current generation
const BARRIER_COUNT = 5;
const BARRIER_GENERATION = 6;
const ERROR = 7; // thread index + 1 of a thread whose kernel threw, else 0

export const COMMAND_RUN = 1;
export const COMMAND_EXIT = 2;

/**
 * How long a waiting thread spins before it blocks (milliseconds). Waking a blocked thread costs
 * 50–200 µs on this kind of machine, comparable to the work between two barriers of a small step;
 * spinning costs a core that another process may want (measured: 1.8× on 2 threads either way
 * when the machine is otherwise idle; long spins hurt badly when it is not).
 */
const SPIN_MS = 0.05;
/** Longest single Atomics.wait (milliseconds) before looking again. */
const WAIT_MS = 10;

export interface Kernels {
  runPhase1(ctx: number, thread: number): void;
  runPhase2(ctx: number, thread: number): void;
}

export function controlView(memory: WebAssembly.Memory, control: number): Int32Array {
  return new Int32Array(memory.buffer, control, CONTROL_WORDS);
}

/** Waits until word `index` differs from `old`. */
function waitChange(ctl: Int32Array, index: number, old: number, canBlock: boolean): void {
  if (Atomics.load(ctl, index) !== old) return;
  const until = performance.now() + SPIN_MS;
  do {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctl, index) !== old) return;
  } while (performance.now() < until);
  if (canBlock) {
    // Bounded waits: V8 can lose a notify that arrives while a waiter handles an interrupt (as when
    // another thread grows the shared memory), so never trust a single wake-up.
    while (Atomics.load(ctl, index) === old) Atomics.wait(ctl, index, old, WAIT_MS);
  } else {
    while (Atomics.load(ctl, index) === old) {
      /* spin: this thread may not block */
    }
  }
}

/** All `count` active threads arrive before any leaves (generation-counting barrier). */
function barrier(ctl: Int32Array, count: number, canBlock: boolean): void {
  const generation = Atomics.load(ctl, BARRIER_GENERATION);
  if (Atomics.add(ctl, BARRIER_COUNT, 1) === count - 1) {
    Atomics.store(ctl, BARRIER_COUNT, 0);
    Atomics.add(ctl, BARRIER_GENERATION, 1);
    Atomics.notify(ctl, BARRIER_GENERATION);
  } else {
    waitChange(ctl, BARRIER_GENERATION, generation, canBlock);
  }
}

/** One thread's part of a command; a kernel error is recorded and the barrier still honoured. */
function runThread(kernels: Kernels, ctl: Int32Array, ctx: number, thread: number, canBlock: boolean): unknown {
  const active = Atomics.load(ctl, ACTIVE);
  if (thread >= active) return undefined;
  let error: unknown;
  try {
    kernels.runPhase1(ctx, thread);
  } catch (e) {
    error = e;
    Atomics.compareExchange(ctl, ERROR, 0, thread + 1);
  }
  if (Atomics.load(ctl, PHASES) === 2) {
    barrier(ctl, active, canBlock);
    if (Atomics.load(ctl, ERROR) === 0) {
      try {
        kernels.runPhase2(ctx, thread);
      } catch (e) {
        error = e;
        Atomics.compareExchange(ctl, ERROR, 0, thread + 1);
      }
    }
  }
  return error;
}

/**
 * A worker's life: wait for a generation, run its part, report, until COMMAND_EXIT. `ready` is called
 * after the current generation has been read: had the worker announced itself first, a command
 * started in between would be taken for the old one and never run.
 */
export function workerLoop(kernels: Kernels, memory: WebAssembly.Memory, control: number, ctx: number, thread: number, ready: () => void): void {
  const ctl = controlView(memory, control);
  let seen = Atomics.load(ctl, GENERATION);
  ready();
  for (;;) {
    waitChange(ctl, GENERATION, seen, true);
    seen = Atomics.load(ctl, GENERATION);
    if (Atomics.load(ctl, COMMAND) === COMMAND_EXIT) return;
    runThread(kernels, ctl, ctx, thread, true);
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

/** The calling thread's side: start a command on all threads, take part as thread 0, wait. */
export class Pool {
  private readonly ctl: Int32Array;
  constructor(
    private readonly kernels: Kernels,
    memory: WebAssembly.Memory,
    control: number,
    private readonly ctx: number,
    /** Threads including the caller. */
    readonly threads: number,
    private readonly canBlock: boolean,
  ) {
    this.ctl = controlView(memory, control);
  }

  /** Runs phase 1 (and with phases = 2, a barrier and phase 2) on `active` threads. */
  run(phases: 1 | 2, active: number): void {
    const ctl = this.ctl;
    const workers = this.threads - 1;
    if (workers === 0) {
      this.kernels.runPhase1(this.ctx, 0);
      if (phases === 2) this.kernels.runPhase2(this.ctx, 0);
      return;
    }
    Atomics.store(ctl, ACTIVE, active);
    Atomics.store(ctl, PHASES, phases);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    Atomics.store(ctl, COMMAND, COMMAND_RUN);
    Atomics.add(ctl, GENERATION, 1);
    Atomics.notify(ctl, GENERATION);
    const error = runThread(this.kernels, ctl, this.ctx, 0, this.canBlock);
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === workers) break;
      waitChange(ctl, DONE, done, this.canBlock);
    }
    const failed = Atomics.load(ctl, ERROR);
    if (error !== undefined) throw error;
    if (failed !== 0) throw new Error(`wasm kernel failed on thread ${failed - 1}`);
  }

  /** Tells every worker to leave its loop. */
  exit(): void {
    Atomics.store(this.ctl, COMMAND, COMMAND_EXIT);
    Atomics.add(this.ctl, GENERATION, 1);
    Atomics.notify(this.ctl, GENERATION);
  }
}
