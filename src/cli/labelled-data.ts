/**
 * The labelled samples of `train --data` and `eval --data`: an MNIST-format idx folder (the data
 * set's own test set is the test split; the last 10 % of its training images validate) or a CSV
 * table (a seeded 80/10/10 split), features scaled by the training part's statistics. One loader, so
 * that `eval` rebuilds exactly the split and scaling a model was trained with.
 */
import { existsSync, statSync } from "node:fs";
import { findImageFolder, readCsvSamples, readImageSamples } from "../data/files.js";
import { scaleFeatures, selectSamples, splitSamples, type SampleSet, type Scaling } from "../data/samples.js";
import type { ClassLoss } from "../engine/types.js";
import type { Task } from "../graph/network.js";
import { UsageError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { fnv1a } from "./checkpointing.js";

export interface LabelledData {
  name: string;
  /** A CSV table (its split depends on the seed; label and target name its columns). */
  csv: boolean;
  train: SampleSet;
  valid: SampleSet;
  test: SampleSet;
  task: Task;
  scaling: Scaling;
  /** The split in words, for the run's first line and the model's metadata. */
  split: string;
}

export interface LabelledDataOptions {
  /** mnist, fashion-mnist, an idx folder or a .csv file. */
  data: string;
  /** Default: standard for CSV, none for images (already in [0, 1]). */
  scale?: Scaling | undefined;
  /** CSV: the label column, by header name or 0-based index (default: the last). */
  label?: string | undefined;
  /** CSV: the label is a class or a real value (default classes). */
  target?: "classes" | "values" | undefined;
  /** CSV: the seed of the 80/10/10 split. */
  seed: number;
  /** How the caller names the data option in errors (default --data). */
  flag?: string;
}

export async function loadLabelledData(o: LabelledDataOptions): Promise<LabelledData> {
  const { data } = o;
  const flag = o.flag ?? "--data";
  const isCsv = /\.csv(\.gz)?$/i.test(data);
  const folder = data === "mnist" || data === "fashion-mnist" ? findImageFolder(data, flag) : !isCsv && existsSync(data) && statSync(data).isDirectory() ? data : undefined;
  const scaling = o.scale ?? (folder ? "none" : "standard");
  if (folder) {
    if (o.label !== undefined) throw new UsageError(`--label is for CSV files; ${data} is an image set`);
    if (o.target !== undefined) throw new UsageError(`--target is for CSV files; ${data} is an image set`);
    const all = await readImageSamples(folder, "train");
    const test = await readImageSamples(folder, "test");
    // The data set's own test set; the last 10 % of its training images validate (a stated, fixed split).
    const cut = Math.round(all.count * 0.9);
    const train = selectSamples(all, Int32Array.from({ length: cut }, (_, i) => i));
    const valid = selectSamples(all, Int32Array.from({ length: all.count - cut }, (_, i) => cut + i));
    scaleFeatures(scaling, train, valid, test);
    const side = Math.round(Math.sqrt(train.featureCount));
    return { name: data, csv: false, train, valid, test, task: { kind: "classification", classes: 10, inputShape: [side, side] }, scaling, split: `${train.count} training, ${valid.count} validation (the last 10 % of the training images), ${test.count} test (the set's own)` };
  }
  if (!isCsv) throw new UsageError(`${flag} ${data}: not mnist, fashion-mnist, a folder of idx files or a .csv file`);
  if (!existsSync(data)) throw new UsageError(`${flag} ${data}: no such file`);
  const set = await readCsvSamples(data, { ...(o.label !== undefined ? { label: /^\d+$/.test(o.label) ? Number(o.label) : o.label } : {}), task: o.target ?? "classes" });
  if (set.count < 10) throw new UsageError(`${data} has ${set.count} samples: too few for a training, validation and test split`);
  const [train, valid, test] = splitSamples(set, [0.8, 0.1, 0.1], new Rng(o.seed).fork());
  scaleFeatures(scaling, train!, valid!, test!);
  return { name: data, csv: true, train: train!, valid: valid!, test: test!, task: { kind: "classification", classes: set.outputs, inputShape: [set.featureCount] }, scaling, split: `${train!.count} training, ${valid!.count} validation, ${test!.count} test rows (seeded random 80/10/10)` };
}

/** FNV-1a over every split's features and labels or targets (after scaling): a resumed run must read the same samples. */
export function samplesHash(d: LabelledData): string {
  let h = 0x811c9dc5;
  for (const set of [d.train, d.valid, d.test]) {
    const parts = [set.features, set.labels ?? set.targets!];
    for (const a of parts) h = fnv1a(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), h);
  }
  return h.toString(16).padStart(8, "0");
}

/** Refuses a class loss for real-valued targets (UsageError). */
export function checkLoss(d: LabelledData, loss: ClassLoss): void {
  if (loss !== "cross-entropy" && d.train.labels === undefined) throw new UsageError(`--loss ${loss} is for class labels; real-valued targets (--target values) use squared error`);
}

/** What the loss of these samples is measured in: bits per sample (classes under cross-entropy) or squared error. */
export function lossUnit(d: LabelledData, loss: ClassLoss): string {
  return d.train.labels !== undefined && loss === "cross-entropy" ? "bits/sample" : "squared error";
}
