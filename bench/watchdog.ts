/**
 * A watchdog for the in-process engines: `engine.step` is synchronous (the wasm engine's calling
 * thread blocks in Atomics.wait while its workers run), so a stuck engine would hang the benchmark
 * with no timer able to fire. A worker thread watches a deadline in shared memory; when it passes,
 * it writes what was running to stderr (directly: the main thread cannot relay output) and ends the
 * process, so `npm run bench` says what hung instead of hanging.
 */
import { Worker } from "node:worker_threads";

const MESSAGE_BYTES = 1024;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const deadline = new Float64Array(workerData.deadline);
const length = new Int32Array(workerData.length);
const message = new Uint8Array(workerData.message);
setInterval(() => {
  const at = deadline[0];
  if (at > 0 && Date.now() > at) {
    const text = Buffer.from(message.slice(0, Atomics.load(length, 0))).toString("utf8");
    writeSync(2, "\\nbench: " + text + "\\n");
    process.kill(process.pid, "SIGTERM");
  }
}, 500);
`;

export class Watchdog {
  private readonly deadline = new Float64Array(new SharedArrayBuffer(8));
  private readonly length = new Int32Array(new SharedArrayBuffer(4));
  private readonly message = new Uint8Array(new SharedArrayBuffer(MESSAGE_BYTES));
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { deadline: this.deadline.buffer, length: this.length.buffer, message: this.message.buffer },
    });
    this.worker.unref();
  }

  /** From now on, `what` must finish within `seconds`, or the process ends with that message. */
  arm(seconds: number, what: string): void {
    const text = new TextEncoder().encode(`${what} did not finish within ${Math.round(seconds)} s; stopping (leave that engine out with --engines)`);
    const n = Math.min(text.length, MESSAGE_BYTES);
    this.message.set(text.subarray(0, n));
    Atomics.store(this.length, 0, n);
    this.deadline[0] = Date.now() + seconds * 1000;
  }

  disarm(): void {
    this.deadline[0] = 0;
  }

  async stop(): Promise<void> {
    this.disarm();
    await this.worker.terminate();
  }
}
