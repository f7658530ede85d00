/**
 * Labelled samples beyond text (issue 15): images and table rows as feature vectors with a class
 * (or real-valued targets), CSV parsing with one-line errors that name the row and column, scaling
 * fitted on the training part only, and seeded splits. Browser-safe: reading files is files.ts's.
 */
import { DataError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";

/** Feature vectors with a class each (classification) or `outputs` target values each (regression). */
export interface SampleSet {
  /** count × features values, sample-major. */
  features: Float32Array;
  count: number;
  featureCount: number;
  /** Classes 0..outputs−1 (classification), or undefined with `targets`. */
  labels?: Int32Array;
  /** count × outputs values, sample-major (regression). */
  targets?: Float32Array;
  /** Classes, or target values per sample. */
  outputs: number;
  /** Names of the classes (CSV label values) or of the target columns. */
  outputNames: string[];
  featureNames: string[];
}

/** How `parseCsv` reads a table. */
export interface CsvOptions {
  /** The label column: a header name or a 0-based index (default: the last column). */
  label?: string | number;
  /** "classes": the label's distinct values are classes; "values": it is a real-valued target. Default: classes. */
  task?: "classes" | "values";
  /** Names the file in errors. */
  source?: string;
}

/**
 * A CSV table: a header row, then one sample per row; every cell but the label's a number. Commas,
 * optional double quotes, blank lines skipped. Refuses ragged rows, non-numeric or non-finite cells,
 * fewer than two classes, and tables without samples, naming the row (1-based, as an editor shows
 * it) and the column.
 */
export function parseCsv(text: string, o: CsvOptions = {}): SampleSet {
  const source = o.source ?? "CSV";
  const lines = text.split(/\r?\n/);
  const rows: { line: number; cells: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) if (lines[i]!.trim() !== "") rows.push({ line: i + 1, cells: splitRow(lines[i]!, source, i + 1) });
  if (rows.length === 0) throw new DataError(`${source} is empty`, "a CSV file needs a header row and one row per sample");
  const header = rows[0]!.cells;
  if (header.length < 2) throw new DataError(`${source}: the header has ${header.length} column; a table needs a label and at least one feature`);
  const samples = rows.slice(1);
  if (samples.length === 0) throw new DataError(`${source} has a header but no samples`);
  let label: number;
  if (o.label === undefined) label = header.length - 1;
  else if (typeof o.label === "number") label = o.label;
  else label = header.indexOf(o.label);
  if (!(Number.isInteger(label) && label >= 0 && label < header.length)) throw new DataError(`${source}: no label column ${JSON.stringify(o.label)} (the columns are ${header.join(", ")})`);
  const featureNames = header.filter((_, c) => c !== label);
  const f = featureNames.length;
  const features = new Float32Array(samples.length * f);
  const raw: string[] = [];
  samples.forEach((row, s) => {
    if (row.cells.length !== header.length) throw new DataError(`${source}: row ${row.line} has ${row.cells.length} cells, the header ${header.length}`);
    let at = 0;
    for (let c = 0; c < header.length; c++) {
      const cell = row.cells[c]!;
      if (c === label) {
        raw.push(cell);
        continue;
      }
      const v = cell.trim() === "" ? NaN : Number(cell);
      if (!Number.isFinite(v)) throw new DataError(`${source}: row ${row.line}, column ${c + 1} (${header[c]}): ${JSON.stringify(cell)} is not a finite number`);
      features[s * f + at++] = v;
    }
  });
  const base = { features, count: samples.length, featureCount: f, featureNames };
  if (o.task === "values") {
    const targets = new Float32Array(samples.length);
    raw.forEach((cell, s) => {
      const v = cell.trim() === "" ? NaN : Number(cell);
      if (!Number.isFinite(v)) throw new DataError(`${source}: row ${samples[s]!.line}, column ${label + 1} (${header[label]}): target ${JSON.stringify(cell)} is not a finite number`);
      targets[s] = v;
    });
    return { ...base, targets, outputs: 1, outputNames: [header[label]!] };
  }
  // Classes in order of first appearance would depend on the row order; sorted names do not.
  const names = [...new Set(raw)].sort((a, b) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a.localeCompare(b)));
  if (names.length < 2) throw new DataError(`${source}: the label column ${header[label]} has only one class (${JSON.stringify(names[0])})`, "classification needs at least two classes; for a real-valued target use values");
  const index = new Map(names.map((n, i) => [n, i]));
  const labels = Int32Array.from(raw, (cell) => index.get(cell)!);
  return { ...base, labels, outputs: names.length, outputNames: names };
}

function splitRow(line: string, source: string, lineNumber: number): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (ch === ",") {
      cells.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  if (quoted) throw new DataError(`${source}: row ${lineNumber} has an unclosed quote`);
  cells.push(cell.trim());
  return cells;
}

/** The samples at `index`, in that order. */
export function selectSamples(set: SampleSet, index: ArrayLike<number>): SampleSet {
  const f = set.featureCount;
  const features = new Float32Array(index.length * f);
  for (let s = 0; s < index.length; s++) features.set(set.features.subarray(index[s]! * f, index[s]! * f + f), s * f);
  const out: SampleSet = { ...set, features, count: index.length };
  if (set.labels) out.labels = Int32Array.from(index, (i) => set.labels![i]!);
  if (set.targets) {
    const m = set.outputs;
    const t = new Float32Array(index.length * m);
    for (let s = 0; s < index.length; s++) t.set(set.targets.subarray(index[s]! * m, index[s]! * m + m), s * m);
    out.targets = t;
  }
  return out;
}

/** A random split into parts of the given fractions (seeded): Fisher–Yates over the sample indices. */
export function splitSamples(set: SampleSet, fractions: readonly number[], rng: Rng): SampleSet[] {
  const order = rng.shuffle(Int32Array.from({ length: set.count }, (_, i) => i));
  const parts: SampleSet[] = [];
  let start = 0;
  let cumulative = 0;
  fractions.forEach((fr, p) => {
    cumulative += fr;
    const end = p === fractions.length - 1 ? set.count : Math.round(cumulative * set.count);
    if (end - start < 1) throw new DataError(`${set.count} samples are too few for a split of ${fractions.join("/")}: part ${p + 1} would be empty`);
    parts.push(selectSamples(set, order.subarray(start, end)));
    start = end;
  });
  return parts;
}

/** Feature scaling: standardise (mean 0, sd 1) or to [0, 1] by the training part's statistics. */
export type Scaling = "standard" | "minmax" | "none";

/** Fits `how` on `fit` and applies it to every set, in place (a constant feature maps to 0). */
export function scaleFeatures(how: Scaling, fit: SampleSet, ...sets: SampleSet[]): void {
  if (how === "none") return;
  const f = fit.featureCount;
  const shift = new Float64Array(f);
  const scale = new Float64Array(f).fill(1);
  for (let c = 0; c < f; c++) {
    let a = Infinity;
    let b = -Infinity;
    let sum = 0;
    let sq = 0;
    for (let s = 0; s < fit.count; s++) {
      const v = fit.features[s * f + c]!;
      a = Math.min(a, v);
      b = Math.max(b, v);
      sum += v;
      sq += v * v;
    }
    if (how === "minmax") {
      shift[c] = a;
      scale[c] = b > a ? 1 / (b - a) : 0;
    } else {
      const mean = sum / fit.count;
      const sd = Math.sqrt(Math.max(0, sq / fit.count - mean * mean));
      shift[c] = mean;
      scale[c] = sd > 0 ? 1 / sd : 0;
    }
  }
  for (const set of [fit, ...sets]) {
    for (let s = 0; s < set.count; s++) for (let c = 0; c < f; c++) set.features[s * f + c] = (set.features[s * f + c]! - shift[c]!) * scale[c]!;
  }
}
