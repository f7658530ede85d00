/**
 * The messages between the studio page (page.ts, the UI) and its trainer worker (worker.ts, where
 * every sparsewire computation runs: training, generation, opening and saving model files). The
 * page imports nothing else of the library, so its bundle stays small and the engine's own workers
 * and wasm files keep the paths they have in dist/.
 */
import type { GraphSnapshot } from "./graph-layout.js";

/** The settings the page's form sets: those of `sparsewire train`. */
export interface StudioSettings {
  neurons: number;
  inDegree: number;
  context: number;
  batch: number;
  learningRate: number;
  steps: number;
  rewire: "none" | "thesis" | "set" | "rigl";
  /** Steps between rewiring rounds (default: the preset's). */
  rewireEvery?: number;
  seed: number;
  /** Validate every this many steps on `evalWindows` windows (0: only at the end). */
  evalEvery: number;
  evalWindows: number;
  /** Engine threads (default: all cores when the page is cross-origin isolated, else 1). */
  threads?: number;
}

/** Where the training text comes from: a URL (the bundled excerpt) or bytes the user dropped. */
export type CorpusSource = { kind: "url"; url: string; name: string } | { kind: "bytes"; bytes: ArrayBuffer; name: string };

export type ToWorker =
  | { type: "train"; settings: StudioSettings; corpus: CorpusSource }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "stop" }
  | { type: "generate"; prompt: string; length: number; temperature: number; seed: number }
  | { type: "open"; name: string; bytes: ArrayBuffer }
  | { type: "save"; format: "safetensors" | "json" }
  /**
   * Send per-edge utility with every graph snapshot (costs a gradient pass per snapshot). `corpus`
   * gives the windows to estimate it on when no run has loaded a text (an opened model file).
   */
  | { type: "utility"; on: boolean; corpus: CorpusSource };

/** What the page shows about a model: its shape and the metadata stored with it. */
export interface ModelInfo {
  name: string;
  neurons: number;
  inputs: number;
  outputs: number;
  inDegree: number;
  edges: number;
  context?: number;
  quantized?: { bits: number };
  training?: Record<string, unknown>;
}

export type FromWorker =
  | { type: "ready"; threads: number; isolated: boolean; note: string }
  | { type: "corpus"; name: string; symbols: number; train: number; valid: number; dropped: number }
  | { type: "start"; graph: GraphSnapshot; engine: { name: string; threads: number }; edges: number; totalSteps: number }
  /** Losses of the steps since the previous progress message (step - losses.length + 1 … step). */
  | { type: "progress"; step: number; totalSteps: number; losses: Float32Array; smoothedLoss: number; seconds: number; stepsPerSecond: number; edgeSamplesPerSecond: number; learningRate: number; paused: boolean }
  /** The run is paused (it waits after `step`) or runs again. */
  | { type: "paused"; paused: boolean; step: number }
  | { type: "validation"; step: number; bits: number; windows: number; final: boolean }
  | { type: "rewire"; step: number; rewired: number; refused: number; graph: GraphSnapshot }
  | { type: "graph"; step: number; graph: GraphSnapshot }
  | { type: "text"; step: number; prompt: string; text: string; charactersPerSecond: number }
  | { type: "done"; steps: number; seconds: number; trainBits: number; validBits: number; stopped: boolean }
  | { type: "model"; info: ModelInfo; graph: GraphSnapshot }
  | { type: "saved"; name: string; bytes: ArrayBuffer }
  | { type: "error"; message: string };
