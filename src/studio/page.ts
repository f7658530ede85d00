/**
 * The studio page (issue 13): the form, the live curves, the graph, the text. It only draws and
 * forwards: every sparsewire computation runs in the trainer worker (worker.ts), which this page
 * talks to through the messages of protocol.ts. Bundled by esbuild (scripts/build-studio.mjs).
 */
import embed, { type Result as EmbedResult } from "vega-embed";
import { bandChart, type BandPoint } from "../experiments/charts.js";
import { edgeDiff, graphStats, type GraphSnapshot } from "./graph-layout.js";
import { GraphView, type EdgeColouring } from "./graph-view.js";
import type { CorpusSource, FromWorker, StudioSettings, ToWorker } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);
const button = (id: string) => $<HTMLButtonElement>(id);

/** Everything the page has been told, kept for redraws and exposed as `window.studio` for scripts and tests. */
interface StudioState {
  isolated: boolean;
  threads: number;
  running: boolean;
  paused: boolean;
  done: boolean;
  step: number;
  totalSteps: number;
  /** Loss of every step so far, bits per character. */
  losses: number[];
  validations: { step: number; bits: number; final: boolean }[];
  rounds: { step: number; rewired: number; refused: number }[];
  graph?: GraphSnapshot;
  texts: string[];
  errors: string[];
  /** The graph panel's statistics line after every snapshot (rewiring changes it). */
  statsHistory: string[];
  /** Threads of the engine training now (or last). */
  engineThreads: number;
  /** The text the last run trained on. */
  corpus?: { name: string; symbols: number };
  model?: { name: string; neurons: number; edges: number };
  saved?: { name: string; bytes: Uint8Array };
  result?: { steps: number; trainBits: number; validBits: number; stopped: boolean };
}

const state: StudioState = { isolated: false, threads: 1, running: false, paused: false, done: false, step: 0, totalSteps: 0, losses: [], validations: [], rounds: [], texts: [], errors: [], statsHistory: [], engineThreads: 0 };
(window as unknown as { studio: { state: StudioState; view: () => GraphView } }).studio = { state, view: () => graphView };

const graphView = new GraphView($<HTMLCanvasElement>("graph"), $("tooltip"));
let worker = startWorker();
let droppedText: File | undefined;

function startWorker(): Worker {
  const w = new Worker(new URL("./lib/src/studio/worker.js", document.baseURI), { type: "module" });
  w.onmessage = (e: MessageEvent<FromWorker>) => receive(e.data);
  w.onerror = (e) => showError(`the trainer worker failed: ${e.message}`);
  return w;
}

function send(message: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}

function showError(message: string): void {
  state.errors.push(message);
  setStatus(`error: ${message}`, true);
  setRunning(false);
}

function setStatus(text: string, error = false): void {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const si = (x: number) => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(1)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

function receive(m: FromWorker): void {
  switch (m.type) {
    case "ready":
      state.isolated = m.isolated;
      state.threads = m.threads;
      setStatus(`ready · ${m.note}`);
      $("status").dataset["threads"] = String(m.threads);
      return;
    case "corpus":
      state.corpus = { name: m.name, symbols: m.symbols };
      setStatus(`text ${m.name}: ${m.symbols.toLocaleString("en")} characters after cleaning (${m.dropped.toLocaleString("en")} bytes dropped or merged); training on ${m.train.toLocaleString("en")}, validating on ${m.valid.toLocaleString("en")}`);
      return;
    case "start":
      state.totalSteps = m.totalSteps;
      state.engineThreads = m.engine.threads;
      $("n-engine").textContent = `${m.engine.name}, ${m.engine.threads} thread${m.engine.threads === 1 ? "" : "s"}`;
      setGraph(m.graph);
      return;
    case "progress":
      for (const l of m.losses) state.losses.push(l);
      state.step = m.step;
      $("n-step").textContent = `${m.step.toLocaleString("en")} / ${m.totalSteps.toLocaleString("en")}`;
      $("n-train").textContent = fmt(m.smoothedLoss);
      $("n-lr").textContent = m.learningRate.toExponential(2);
      $("n-sps").textContent = m.stepsPerSecond.toFixed(1);
      $("n-eps").textContent = si(m.edgeSamplesPerSecond);
      scheduleChart();
      return;
    case "paused":
      state.paused = m.paused;
      button("pause").textContent = m.paused ? "Resume" : "Pause";
      setStatus(m.paused ? `paused after step ${m.step.toLocaleString("en")}` : "training…");
      return;
    case "validation":
      state.validations.push({ step: m.step, bits: m.bits, final: m.final });
      $("n-valid").textContent = `${fmt(m.bits)}${m.final ? " (whole split)" : ` (${m.windows.toLocaleString("en")} windows)`}`;
      scheduleChart();
      return;
    case "rewire": {
      state.rounds.push({ step: m.step, rewired: m.rewired, refused: m.refused });
      const before = state.graph;
      setGraph(m.graph);
      if (before) graphView.highlight(edgeDiff(before, m.graph));
      $("g-rounds").textContent = String(state.rounds.length);
      $("g-last").textContent = `step ${m.step.toLocaleString("en")}: ${m.rewired} edges rewired, ${m.refused} refused`;
      scheduleChart();
      return;
    }
    case "graph":
      setGraph(m.graph);
      return;
    case "text":
      state.texts.push(m.text);
      if (m.step >= 0) $("sample").textContent = `step ${m.step.toLocaleString("en")}: ${m.text}`;
      else $("generated").textContent = m.text;
      $("sample").dataset["rate"] = String(Math.round(m.charactersPerSecond));
      return;
    case "done":
      state.done = true;
      state.result = { steps: m.steps, trainBits: m.trainBits, validBits: m.validBits, stopped: m.stopped };
      setRunning(false);
      setStatus(`${m.stopped ? "stopped" : "done"} after ${m.steps.toLocaleString("en")} steps in ${m.seconds.toFixed(1)} s: validation ${fmt(m.validBits)} bits/char on the whole validation split`);
      enableModel(true);
      drawChart();
      return;
    case "model":
      state.model = { name: m.info.name, neurons: m.info.neurons, edges: m.info.edges };
      $("model-info").textContent = `${m.info.name}: ${m.info.neurons.toLocaleString("en")} neurons (${m.info.inputs} inputs, ${m.info.outputs} outputs), in-degree ${m.info.inDegree}, ${m.info.edges.toLocaleString("en")} edges${m.info.context !== undefined ? `, context ${m.info.context}` : ", not a character model"}${m.info.quantized ? `, quantised to ${m.info.quantized.bits} bits` : ""}${m.info.training ? ` · trained: ${Object.entries(m.info.training).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ")}` : ""}`;
      state.rounds = [];
      $("g-rounds").textContent = "0";
      $("g-last").textContent = "–";
      graphView.highlight(undefined);
      setGraph(m.graph);
      enableModel(m.info.context !== undefined);
      setStatus(`opened ${m.info.name}`);
      return;
    case "saved": {
      state.saved = { name: m.name, bytes: new Uint8Array(m.bytes) };
      const url = URL.createObjectURL(new Blob([m.bytes], { type: "application/octet-stream" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = m.name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setStatus(`saved ${m.name} (${m.bytes.byteLength.toLocaleString("en")} bytes): \`sparsewire eval --model ${m.name}\` loads it bit for bit`);
      return;
    }
    case "error":
      showError(m.message);
      return;
  }
}

function setGraph(g: GraphSnapshot): void {
  state.graph = g;
  graphView.setGraph(g);
  const s = graphStats(g);
  $("g-neurons").textContent = s.neurons.toLocaleString("en");
  $("g-edges").textContent = s.edges.toLocaleString("en");
  $("g-degree").textContent = String(s.inDegree);
  $("g-depth").textContent = String(s.depth);
  $("g-input-share").textContent = `${(100 * s.inputShare).toFixed(1)} %`;
  // Deep graphs have dozens of levels: show the first and last ones, the whole list on hover.
  const levels = s.levelSizes.length > 14 ? `${s.levelSizes.slice(0, 10).join(" · ")} · … · ${s.levelSizes.slice(-3).join(" · ")} (${s.levelSizes.length} levels)` : s.levelSizes.join(" · ");
  $("g-levels").textContent = levels;
  $("g-levels").title = s.levelSizes.map((n, l) => `level ${l}: ${n}`).join("\n");
  const line = `edges ${s.edges}, depth ${s.depth}, inputs ${(100 * s.inputShare).toFixed(2)} %, levels ${s.levelSizes.join(" ")}`;
  if (state.statsHistory.at(-1) !== line) state.statsHistory.push(line);
}

function enableModel(canWrite: boolean): void {
  button("save-safetensors").disabled = false;
  button("save-json").disabled = false;
  button("write").disabled = !canWrite;
}

function setRunning(running: boolean): void {
  state.running = running;
  button("start").disabled = running;
  button("pause").disabled = !running;
  button("stop").disabled = !running;
  button("pause").textContent = "Pause";
  document.querySelectorAll<HTMLInputElement | HTMLSelectElement>("#settings input, #settings select").forEach((el) => (el.disabled = running));
}

// ---- the curves: the experiments' band chart (median and quartiles of the step losses per group) ----

let chart: EmbedResult | undefined;
let chartPending = false;
let chartDrawn = 0;

function chartPoints(): BandPoint[] {
  const losses = state.losses;
  // About 150 points over the steps done so far: detail early on, a smooth curve later.
  const group = Math.max(1, Math.floor(losses.length / 150));
  const points: BandPoint[] = [];
  for (let start = 0; start + group <= losses.length; start += group) {
    const v = losses.slice(start, start + group).sort((a, b) => a - b);
    const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))]!;
    points.push({ series: "training (batch loss)", x: start + group, median: q(0.5), low: q(0.25), high: q(0.75) });
  }
  for (const v of state.validations) points.push({ series: v.final ? "validation (whole split)" : "validation (sample)", x: v.step, median: v.bits, low: v.bits, high: v.bits });
  return points;
}

function scheduleChart(): void {
  if (chartPending) return;
  chartPending = true;
  const wait = Math.max(0, 400 - (performance.now() - chartDrawn));
  setTimeout(() => {
    chartPending = false;
    drawChart();
  }, wait);
}

let chartLoading = false;

function drawChart(): void {
  if (chartLoading) return scheduleChart(); // vega-embed is still building the first view
  chartDrawn = performance.now();
  const points = chartPoints();
  const marks = state.rounds.map((r) => ({ x: r.step }));
  if (points.length === 0 && !chart) {
    $("curves").innerHTML = `<p class="placeholder">Training curves appear here: bits per character of the training batches (median and quartiles per group of steps) and of validation, with rewiring rounds as dotted lines.</p>`;
    return;
  }
  if (chart && points.length === 0) {
    chart.finalize();
    chart = undefined;
    return drawChart();
  }
  if (chart) {
    chart.view.data("points", points).data("rounds", marks);
    void chart.view.resize().runAsync();
    return;
  }
  const spec = bandChart(points, { title: "bits per character", x: "step", y: "bits/char", width: "container", height: 220, seriesOrder: ["training (batch loss)", "validation (sample)", "validation (whole split)"], marks: { name: "rounds", title: "rewiring round at step" }, pointSeries: ["validation (sample)", "validation (whole split)"] });
  spec["data"] = { name: "points", values: points };
  spec["datasets"] = { rounds: marks };
  spec["autosize"] = { type: "fit-x", contains: "padding" };
  $("curves").innerHTML = "";
  chartLoading = true;
  void embed($("curves"), spec as never, { actions: false, renderer: "canvas" })
    .then((r) => {
      chart = r;
      if (marks.length > 0) void r.view.data("rounds", marks).runAsync();
    })
    .catch((e: unknown) => showError(`cannot draw the curves: ${(e as Error).message}`))
    .finally(() => (chartLoading = false));
}

// ---- controls ----

function bundledCorpus(): CorpusSource {
  return { kind: "url", url: new URL("./data/text8-excerpt.txt.gz", document.baseURI).href, name: "text8 excerpt" };
}

function settingsOfForm(): StudioSettings {
  const n = (id: string) => Number(input(id).value);
  const rewire = $<HTMLSelectElement>("rewire").value as StudioSettings["rewire"];
  return {
    neurons: n("neurons"),
    inDegree: n("in-degree"),
    context: n("context"),
    batch: n("batch"),
    learningRate: n("lr"),
    steps: n("steps"),
    rewire,
    ...(rewire !== "none" ? { rewireEvery: n("rewire-every") } : {}),
    seed: n("seed"),
    evalEvery: n("eval-every"),
    evalWindows: 5000,
  };
}

$<HTMLFormElement>("settings").addEventListener("submit", (e) => {
  e.preventDefault();
  void (async () => {
    const settings = settingsOfForm();
    const bad = Object.entries(settings).find(([, v]) => typeof v === "number" && !Number.isFinite(v));
    if (bad) return showError(`${bad[0]} is not a number`);
    state.losses = [];
    state.validations = [];
    state.rounds = [];
    state.done = false;
    state.step = 0;
    delete state.result;
    graphView.highlight(undefined);
    $("g-rounds").textContent = "0";
    $("g-last").textContent = "–";
    $("n-valid").textContent = "–";
    setRunning(true);
    button("write").disabled = false; // the worker writes with the live network while it trains
    setStatus("training…");
    if ($<HTMLSelectElement>("corpus").value === "dropped" && droppedText) {
      const bytes = await droppedText.arrayBuffer();
      send({ type: "train", settings, corpus: { kind: "bytes", bytes, name: droppedText.name } }, [bytes]);
    } else {
      send({ type: "train", settings, corpus: bundledCorpus() });
    }
    drawChart();
  })();
});

button("pause").addEventListener("click", () => send({ type: state.paused ? "resume" : "pause" }));
button("stop").addEventListener("click", () => {
  send({ type: "stop" });
  setStatus("stopping: validating on the whole split…");
});
button("reset").addEventListener("click", () => {
  worker.terminate();
  worker = startWorker();
  Object.assign(state, { running: false, paused: false, done: false, step: 0, totalSteps: 0, losses: [], validations: [], rounds: [], texts: [], statsHistory: [], errors: [] });
  setRunning(false);
  for (const id of ["write", "save-safetensors", "save-json"]) button(id).disabled = true;
  for (const id of ["n-step", "n-train", "n-valid", "n-lr", "n-sps", "n-eps"]) $(id).textContent = "–";
  drawChart();
});

function useText(file: File): void {
  droppedText = file;
  const select = $<HTMLSelectElement>("corpus");
  let option = select.querySelector<HTMLOptionElement>('option[value="dropped"]');
  if (!option) {
    option = document.createElement("option");
    option.value = "dropped";
    select.append(option);
  }
  option.textContent = `${file.name} (${file.size.toLocaleString("en")} bytes)`;
  select.value = "dropped";
}
input("text-file").addEventListener("change", () => {
  const file = input("text-file").files?.[0];
  if (file) useText(file);
});
const textDrop = $("text-drop");
textDrop.addEventListener("dragover", (e) => {
  e.preventDefault();
  textDrop.classList.add("over");
});
textDrop.addEventListener("dragleave", () => textDrop.classList.remove("over"));
textDrop.addEventListener("drop", (e) => {
  e.preventDefault();
  textDrop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file) useText(file);
});

async function openModel(file: File): Promise<void> {
  const bytes = await file.arrayBuffer();
  send({ type: "open", name: file.name, bytes }, [bytes]);
}
input("model-file").addEventListener("change", () => {
  const file = input("model-file").files?.[0];
  if (file) void openModel(file);
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file) void openModel(file);
});
button("save-safetensors").addEventListener("click", () => send({ type: "save", format: "safetensors" }));
button("save-json").addEventListener("click", () => send({ type: "save", format: "json" }));

$<HTMLFormElement>("generate").addEventListener("submit", (e) => {
  e.preventDefault();
  send({ type: "generate", prompt: input("prompt").value, length: Number(input("length").value), temperature: Number(input("temperature").value), seed: state.texts.length + 1 });
});

$<HTMLSelectElement>("colouring").addEventListener("change", () => {
  const c = $<HTMLSelectElement>("colouring").value as EdgeColouring;
  send({ type: "utility", on: c === "utility", corpus: bundledCorpus() });
  graphView.setColouring(c);
});
$<HTMLSelectElement>("rewire").addEventListener("change", () => {
  const preset = $<HTMLSelectElement>("rewire").value;
  input("rewire-every").disabled = preset === "none";
});

window.addEventListener("resize", () => graphView.resize());
drawChart();

// `sparsewire studio --model PATH` names the file in a meta tag; open it once the worker is up.
const preset = document.querySelector<HTMLMetaElement>('meta[name="sparsewire-model"]');
if (preset) {
  void fetch(new URL(preset.content, document.baseURI)).then(async (response) => {
    if (!response.ok) return showError(`cannot fetch the model ${preset.content}: HTTP ${response.status}`);
    const bytes = await response.arrayBuffer();
    send({ type: "open", name: decodeURIComponent(preset.content.split("/").pop() ?? "model"), bytes }, [bytes]);
  });
}
