/**
 * The computation the browser test runs twice — in a Chromium page (or a Web Worker it starts) and in
 * Node — so that both sides execute the same module: build a small network and fixed one-hot batches
 * from seeds, train with the wasm engine, report every loss with its exact float64 bit pattern.
 * Imports only the browser-safe public entry (dist/src/index.js), which must pull in no Node built-in.
 */
import { createEngine, Network, Rng, type Batch } from "../../src/index.js";

export interface TrainConfig {
  neurons: number;
  inputs: number;
  outputs: number;
  inDegree: number;
  /** Seed of Network.random. */
  netSeed: number;
  /** Seed of the Rng that draws every batch, in order. */
  batchSeed: number;
  /** One-hot groups per sample (perSample) and symbols per group: inputs = groups · symbols. */
  groups: number;
  symbols: number;
  batch: number;
  steps: number;
  /** Threads asked of the wasm engine. */
  threads: number;
}

export interface TrainResult {
  /** Threads the engine actually runs (after any fallback). */
  threads: number;
  /** Where it ran: "node", "window" (a page's main thread) or "worker" (a dedicated Web Worker). */
  where: string;
  crossOriginIsolated: boolean | null;
  sharedArrayBuffer: boolean;
  /** FNV-1a of the initial weights' and biases' float32 bits (same network on both sides). */
  initialHash: string;
  /** FNV-1a of the weights and biases after training (engine.pull()). */
  finalHash: string;
  losses: number[];
  /** float64 bits of each loss, 16 hex digits. */
  lossBits: string[];
  /** console.warn messages written while the engine was created and trained. */
  warnings: string[];
  ms: number;
}

/** One-hot batches like text windows: active[b·groups + p] = p·symbols + rng.nextInt(symbols). */
export function makeBatches(c: TrainConfig): Batch[] {
  const rng = new Rng(c.batchSeed);
  const batches: Batch[] = [];
  for (let s = 0; s < c.steps; s++) {
    const active = new Int32Array(c.batch * c.groups);
    const classes = new Int32Array(c.batch);
    for (let b = 0; b < c.batch; b++) {
      for (let p = 0; p < c.groups; p++) active[b * c.groups + p] = p * c.symbols + rng.nextInt(c.symbols);
      classes[b] = rng.nextInt(c.outputs);
    }
    batches.push({ size: c.batch, inputs: { kind: "one-hot", perSample: c.groups, active }, targets: { kind: "class", classes } });
  }
  return batches;
}

function fnv(arrays: ArrayLike<number>[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const f = new Float32Array(a.length);
    f.set(Array.from(a));
    const bytes = new Uint8Array(f.buffer);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

function bits(x: number): string {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16).padStart(16, "0");
}

export async function train(c: TrainConfig, where: string): Promise<TrainResult> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
    warn.apply(console, args);
  };
  try {
    const net = Network.random({ neurons: c.neurons, inputs: c.inputs, outputs: c.outputs, inDegree: c.inDegree }, new Rng(c.netSeed));
    const initialHash = fnv([net.weights, net.biases]);
    const batches = makeBatches(c);
    const t0 = performance.now();
    const engine = await createEngine("wasm", net, { threads: c.threads });
    try {
      const losses = batches.map((batch) => engine.step(batch));
      engine.pull();
      const g = globalThis as { crossOriginIsolated?: boolean };
      return {
        threads: engine.threads,
        where,
        crossOriginIsolated: typeof g.crossOriginIsolated === "boolean" ? g.crossOriginIsolated : null,
        sharedArrayBuffer: typeof SharedArrayBuffer !== "undefined",
        initialHash,
        finalHash: fnv([net.weights, net.biases]),
        losses,
        lossBits: losses.map(bits),
        warnings,
        ms: performance.now() - t0,
      };
    } finally {
      await engine.dispose();
    }
  } finally {
    console.warn = warn;
  }
}
