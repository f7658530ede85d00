/**
 * The studio's trainer: a dedicated module Worker that runs every sparsewire computation the page
 * asks for (protocol.ts), with the same run module and engines as the CLI (src/run/). It may block,
 * so the wasm engine runs its thread 0 here and its other threads in Web Workers of its own.
 *
 * While a run trains, the step hook hands control back to the worker's event loop every ~40 ms,
 * so that pause, stop and generate messages get in; a paused run waits in that hook. None of this
 * touches the run's randomness: the page and Node give the same losses for the same settings.
 */
import { cleanText, decodeSymbols } from "../data/text.js";
import { splitCorpus } from "../data/windows.js";
import { createEngine } from "../engine/create.js";
import type { Network } from "../graph/network.js";
import { modelFromJson } from "../io/json-format.js";
import { readQuantizedModel } from "../io/quantized-format.js";
import { modelFromSafetensors, networkToSafetensors } from "../io/safetensors.js";
import { networkToJson } from "../io/json-format.js";
import type { ModelExtra } from "../io/schema.js";
import { PRESETS } from "../rewire/schedule.js";
import { runTraining, RUN_DEFAULTS, adam, type RunSettings } from "../run/index.js";
import type { Batch } from "../engine/types.js";
import { estimateUtility } from "../estimate/utility.js";
import { generateText } from "../train/generate.js";
import { checkTextNetwork, contextOf, estimationBatches } from "../train/text.js";
import { Rng } from "../util/rng.js";
import type { GraphSnapshot } from "./graph-layout.js";
import type { CorpusSource, FromWorker, ModelInfo, StudioSettings, ToWorker } from "./protocol.js";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
};

/** Seconds between progress messages, graph snapshots and text samples while training. */
const PROGRESS_EVERY = 0.1;
const GRAPH_EVERY = 1.5;
const TEXT_EVERY = 4;
const YIELD_EVERY = 0.04;

/** Colour edges by utility: then every snapshot carries |−w·∂L/∂w| (eq. 4.3) over one fixed batch. */
let withUtility = false;
/** The fixed batch (128 validation windows) utility is estimated on, for the run or model shown. */
let utilityBatch: Batch | undefined;
let model: { network: Network; name: string; training?: Record<string, unknown> } | undefined;
interface Training {
  abort: AbortController;
  paused: boolean;
  /** Steps done. */
  step: number;
  resume?: () => void;
  pull?: () => Network;
}
let training: Training | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function fail(error: unknown): void {
  const e = error as { message?: string; hint?: string };
  post({ type: "error", message: `${e.message ?? String(error)}${e.hint ? ` (${e.hint})` : ""}` });
}

/** A copy of what the page needs to draw a network; levels recomputed (rewiring moves them). */
export function snapshot(network: Network): GraphSnapshot {
  const c = network.clone();
  c.computeOrder();
  const g: GraphSnapshot = { neurons: c.neurons, inputs: c.inputs, outputs: c.outputs, inDegree: c.inDegree, sources: c.sources, weights: c.weights, biases: c.biases, levels: c.levels };
  if (withUtility && utilityBatch) {
    const u = estimateUtility(c, [utilityBatch], "first-order");
    for (let e = 0; e < u.length; e++) u[e] = Math.abs(u[e]!);
    g.utility = u;
  }
  return g;
}

function graphTransfer(g: GraphSnapshot): Transferable[] {
  return [g.sources.buffer, g.weights.buffer, g.biases.buffer, g.levels.buffer, ...(g.utility ? [g.utility.buffer] : [])];
}

async function corpusBytes(source: CorpusSource): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (source.kind === "url") {
    const response = await fetch(source.url);
    if (!response.ok) throw new Error(`cannot fetch the text ${source.name}: HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } else {
    bytes = new Uint8Array(source.bytes);
  }
  // gzip magic 1f 8b: unpack in the browser, as the CLI reads .gz corpora.
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return bytes;
}

/** The run settings of the page's form: the same as `sparsewire train` with those flags. */
export function runSettingsOf(s: StudioSettings): RunSettings {
  const rewire = s.rewire === "none" ? undefined : { ...structuredClone(PRESETS[s.rewire]), ...(s.rewireEvery !== undefined ? { every: s.rewireEvery } : {}) };
  return {
    network: { kind: "random", neurons: s.neurons, inDegree: s.inDegree, context: s.context },
    batch: s.batch,
    steps: s.steps,
    optimizer: adam(s.learningRate),
    lrSchedule: RUN_DEFAULTS.lrSchedule,
    seed: s.seed,
    engine: "wasm",
    ...(s.threads !== undefined ? { threads: s.threads } : {}),
    evalEvery: s.evalEvery,
    evalWindows: s.evalWindows,
    ...(rewire ? { rewire } : {}),
  };
}

function trainingRecord(s: StudioSettings, corpus: string, steps: number): ModelExtra {
  return { training: { trainer: "sparsewire studio", seed: s.seed, steps, engine: "wasm", lr: s.learningRate, lrSchedule: RUN_DEFAULTS.lrSchedule.kind, batch: s.batch, text: corpus, rewire: s.rewire, ...(s.rewireEvery !== undefined ? { rewireEvery: s.rewireEvery } : {}) } };
}

/** A short sample of the model's text (greedy-ish: temperature 0.7), on a reference engine over a copy. */
async function writeSample(network: Network, prompt: string, length: number, temperature: number, seed: number): Promise<{ text: string; charactersPerSecond: number }> {
  const engine = await createEngine("reference", network.clone());
  try {
    const started = performance.now();
    const [out] = generateText(engine, cleanText(prompt), { length, temperature, topK: 0, samples: 1, rng: new Rng(seed) });
    const seconds = Math.max((performance.now() - started) / 1000, 1e-6);
    return { text: decodeSymbols(out!), charactersPerSecond: length / seconds };
  } finally {
    await engine.dispose();
  }
}

async function train(settings: StudioSettings, corpus: CorpusSource): Promise<void> {
  const raw = await corpusBytes(corpus);
  const symbols = cleanText(raw);
  const [trainPart, validPart] = splitCorpus(symbols, [0.9, 0.05, 0.05], settings.context);
  utilityBatch = estimationBatches(validPart!.symbols, settings.context, 1, 128, new Rng(0), "the validation text")[0];
  post({ type: "corpus", name: corpus.name, symbols: symbols.length, train: trainPart!.symbols.length, valid: validPart!.symbols.length, dropped: raw.length - symbols.length });
  const abort = new AbortController();
  const state: Training = { abort, paused: false, step: 0 };
  training = state;
  let pull: (() => Network) | undefined;
  let edges = 0;
  let pending: number[] = [];
  let lastPost = 0;
  let lastYield = 0;
  let lastGraph = 0;
  let lastText = 0;
  let textSeed = settings.seed;
  const result = await runTraining(runSettingsOf(settings), { train: trainPart!.symbols, valid: validPart!.symbols }, {
    signal: abort.signal,
    onEvent: async (event) => {
      switch (event.type) {
        case "start": {
          pull = event.pull;
          state.pull = event.pull;
          edges = event.network.edges;
          const graph = snapshot(event.network);
          post({ type: "start", graph, engine: event.engine, edges, totalSteps: settings.steps }, graphTransfer(graph));
          return;
        }
        case "validation":
          post({ type: "validation", step: event.step, bits: event.valid.bitsPerSymbol, windows: event.valid.windows, final: event.final });
          return;
        case "rewire": {
          const graph = snapshot(pull!());
          lastGraph = event.step > 0 ? performance.now() / 1000 : lastGraph;
          post({ type: "rewire", step: event.step, rewired: event.report.rewired, refused: event.report.refused, graph }, graphTransfer(graph));
          return;
        }
        case "step": {
          state.step = event.step;
          pending.push(event.loss);
          const now = performance.now() / 1000;
          const flush = () => {
            const losses = Float32Array.from(pending);
            pending = [];
            const perSecond = event.step / Math.max(event.seconds, 1e-9);
            post({ type: "progress", step: event.step, totalSteps: event.totalSteps, losses, smoothedLoss: event.smoothedLoss, seconds: event.seconds, stepsPerSecond: perSecond, edgeSamplesPerSecond: perSecond * settings.batch * edges, learningRate: event.learningRate, paused: state.paused }, [losses.buffer]);
            lastPost = now;
          };
          if (now - lastPost >= PROGRESS_EVERY || event.step === event.totalSteps) flush();
          if (now - lastGraph >= GRAPH_EVERY && pull) {
            const graph = snapshot(pull());
            post({ type: "graph", step: event.step, graph }, graphTransfer(graph));
            lastGraph = now;
          }
          if (now - lastText >= TEXT_EVERY && pull) {
            const sample = await writeSample(pull(), "the ", 120, 0.7, textSeed++);
            post({ type: "text", step: event.step, prompt: "the ", text: sample.text, charactersPerSecond: sample.charactersPerSecond });
            lastText = performance.now() / 1000;
          }
          if (now - lastYield >= YIELD_EVERY) {
            await new Promise((resolve) => setTimeout(resolve, 0));
            lastYield = performance.now() / 1000;
            if (state.paused && pending.length > 0) flush(); // the page shows the step the run waits at
            while (state.paused && !abort.signal.aborted) await new Promise<void>((resolve) => (state.resume = resolve));
          }
          return;
        }
        default:
          return;
      }
    },
  }).finally(() => {
    if (training === state) training = undefined;
  });
  model = { network: result.network, name: "studio-model", training: trainingRecord(settings, corpus.name, result.steps).training! };
  const graph = snapshot(result.network);
  post({ type: "graph", step: result.steps, graph }, graphTransfer(graph));
  const sample = await writeSample(result.network, "the ", 200, 0.7, textSeed);
  post({ type: "text", step: result.steps, prompt: "the ", text: sample.text, charactersPerSecond: sample.charactersPerSecond });
  post({ type: "done", steps: result.steps, seconds: result.seconds, trainBits: result.trainBitsPerSymbol, validBits: result.valid.bitsPerSymbol, stopped: result.steps < settings.steps });
}

function open(name: string, buffer: ArrayBuffer): void {
  const bytes = new Uint8Array(buffer);
  const format = /\.json$/i.test(name) || bytes[0] === 0x7b ? "json" : "safetensors";
  const quantized = readQuantizedModel(bytes, format, name);
  const loaded = quantized ?? (format === "json" ? modelFromJson(new TextDecoder().decode(bytes), name) : modelFromSafetensors(bytes, name));
  const net = loaded.network;
  let context: number | undefined;
  try {
    context = contextOf(net);
    checkTextNetwork(net, context);
  } catch {
    context = undefined; // not a character model: it can be inspected, not asked to write
  }
  model = { network: net, name: name.replace(/\.(json|safetensors)$/i, ""), ...(loaded.training ? { training: loaded.training } : {}) };
  const info: ModelInfo = {
    name,
    neurons: net.neurons,
    inputs: net.inputs,
    outputs: net.outputs,
    inDegree: net.inDegree,
    edges: net.edges,
    ...(context !== undefined ? { context } : {}),
    ...(quantized ? { quantized: { bits: quantized.quantization.bits } } : {}),
    ...(loaded.training ? { training: loaded.training } : {}),
  };
  const graph = snapshot(net);
  post({ type: "model", info, graph }, graphTransfer(graph));
}

function save(format: "safetensors" | "json"): void {
  if (!model) throw new Error("there is no model to save yet: train one or open a file");
  const extra: ModelExtra = model.training ? { training: model.training } : {};
  const bytes = format === "safetensors" ? networkToSafetensors(model.network, extra) : new TextEncoder().encode(networkToJson(model.network, extra));
  const copy = bytes.slice().buffer;
  post({ type: "saved", name: `${model.name}.${format}`, bytes: copy }, [copy]);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case "train":
      if (training) throw new Error("a run is already training: stop it or reset first");
      return train(message.settings, message.corpus);
    case "pause":
      if (training) {
        training.paused = true;
        post({ type: "paused", paused: true, step: training.step });
      }
      return;
    case "resume":
      if (training) {
        training.paused = false;
        training.resume?.();
        post({ type: "paused", paused: false, step: training.step });
      }
      return;
    case "stop":
      if (training) {
        training.abort.abort();
        training.paused = false;
        training.resume?.();
      }
      return;
    case "generate": {
      const net = training?.pull?.() ?? model?.network;
      if (!net) throw new Error("there is no model to write with yet: train one or open a file");
      const sample = await writeSample(net, message.prompt, message.length, message.temperature, message.seed);
      post({ type: "text", step: -1, prompt: decodeSymbols(cleanText(message.prompt)), text: sample.text, charactersPerSecond: sample.charactersPerSecond });
      return;
    }
    case "open":
      return open(message.name, message.bytes);
    case "save":
      return save(message.format);
    case "utility":
      withUtility = message.on;
      if (withUtility && !utilityBatch && model && !training) {
        const context = contextOf(model.network);
        const symbols = cleanText(await corpusBytes(message.corpus));
        const [, validPart] = splitCorpus(symbols, [0.9, 0.05, 0.05], context);
        utilityBatch = estimationBatches(validPart!.symbols, context, 1, 128, new Rng(0), "the validation text")[0];
      }
      if (model && !training) {
        const graph = snapshot(model.network);
        post({ type: "graph", step: -1, graph }, graphTransfer(graph));
      }
      return;
  }
}

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
if (inWorker) {
  scope.onmessage = (e) => void handle(e.data).catch(fail);
  const isolated = scope.crossOriginIsolated === true;
  const cores = scope.navigator?.hardwareConcurrency ?? 1;
  post({
    type: "ready",
    isolated,
    threads: isolated ? cores : 1,
    note: isolated
      ? `cross-origin isolated: the wasm engine can use all ${cores} cores`
      : "not cross-origin isolated (the server did not send COOP/COEP headers): training runs on one thread",
  });
}
