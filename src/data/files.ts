/**
 * Reading data sets from disk (Node only): text corpora (plain or gzip, streamed through the
 * TextCleaner so a 100 MB enwik8 never exists as a string, §4.6), the bundled text8 excerpt, and
 * MNIST in the IDX format (the edge-utility study of Fig. 4.2). Gzip is detected by its magic
 * bytes 1f 8b, never by the file name.
 */
import { createReadStream, existsSync } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createGunzip, gunzip, gunzipSync } from "node:zlib";
import { DataError, UsageError } from "../util/errors.js";
import { TextCleaner } from "./text.js";
import { parseCsv, type CsvOptions, type SampleSet } from "./samples.js";

/** File name of the bundled default corpus, in the package's `data/` folder. */
export const BUNDLED_CORPUS_FILE = "text8-excerpt.txt.gz";

/** Number of symbols in the bundled corpus (the first 2,000,000 characters of text8). */
export const BUNDLED_CORPUS_SYMBOLS = 2_000_000;

/** Options of `readTextCorpus`. */
export interface ReadTextOptions {
  /** Stop after this many (decompressed) bytes of text; the rest of the file is not read. */
  maxBytes?: number;
}

/** A cleaned text corpus (`readTextCorpus`): the 27-symbol alphabet of §4.6, one byte per symbol. */
export interface TextCorpus {
  /** Symbols 0..26 (TEXT_ALPHABET), one byte each; `symbols.length` of `bytesRead` bytes were kept. */
  symbols: Uint8Array;
  /** Bytes of text consumed before cleaning (decompressed bytes for gzip files). */
  bytesRead: number;
  /** Whether a NUL byte occurs in the first `BINARY_CHECK_BYTES` bytes read: text has none, binaries do. */
  nulByte: boolean;
  /** The file it was read from. */
  path: string;
}

/** How far into a corpus (decompressed) `readTextCorpus` looks for a NUL byte. */
export const BINARY_CHECK_BYTES = 64 * 1024;

/** Below this share of bytes kept as symbols `readTextCorpus` refuses the file: it is not text. */
export const MIN_SYMBOL_SHARE = 0.01;

/** Below this share of bytes kept (or with a NUL byte) a corpus probably is not text: `corpusWarning`. */
export const WARN_SYMBOL_SHARE = 0.5;

/**
 * Why a corpus that was read probably is not the text meant (a binary file, markup, a non-Latin
 * script), in one line naming the file and how many symbols were kept of how many bytes; undefined
 * when it looks like text. The library never prints: the command line shows this on stderr.
 */
export function corpusWarning(corpus: Pick<TextCorpus, "symbols" | "bytesRead" | "nulByte" | "path">): string | undefined {
  const kept = corpus.symbols.length;
  const share = corpus.bytesRead > 0 ? kept / corpus.bytesRead : 1;
  if (!corpus.nulByte && share >= WARN_SYMBOL_SHARE) return undefined;
  return (
    `${corpus.path} does not look like text: cleaning kept ${kept.toLocaleString("en")} symbols of ${corpus.bytesRead.toLocaleString("en")} bytes (${percent(share)})` +
    `${corpus.nulByte ? `, and it has a NUL byte in its first ${BINARY_CHECK_BYTES / 1024} KiB (a binary file?)` : ""}; only letters and whitespace are kept`
  );
}

function percent(share: number): string {
  const p = 100 * share;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toPrecision(2)} %`;
}

const gunzipAsync = promisify(gunzip);

function errorCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Stats a data file, turning "missing" and "is a directory" into one-line DataErrors. */
async function checkFile(path: string, what: string): Promise<number> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new DataError(`${path} is a directory, not a ${what}`);
    return info.size;
  } catch (err) {
    if (err instanceof DataError) throw err;
    if (errorCode(err) === "ENOENT") throw new DataError(`${what} not found: ${path}`);
    throw new DataError(`cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** One-line DataError for a failure while streaming a (possibly gzip) file. */
function streamError(path: string, gzipped: boolean, err: unknown): DataError {
  const code = errorCode(err);
  if (gzipped && code !== undefined && code.startsWith("Z_")) {
    return new DataError(`${path} is not a valid gzip file: ${errorMessage(err)}`);
  }
  return new DataError(`cannot read ${path}: ${errorMessage(err)}`);
}

/**
 * Reads a text corpus, plain or gzip, streaming it through the TextCleaner (§4.6 preprocessing).
 * Throws DataError when the file is missing, a directory, corrupt gzip, or has no usable text
 * (no symbol, or fewer than `MIN_SYMBOL_SHARE` of the bytes kept: a binary file). Check the result
 * with `corpusWarning` for files that are probably not text but not refused.
 */
export async function readTextCorpus(path: string, opts: ReadTextOptions = {}): Promise<TextCorpus> {
  const size = await checkFile(path, "text file");
  const limit = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!(limit >= 0)) throw new DataError(`maxBytes must be a non-negative number, got ${opts.maxBytes}`);
  let gzipped: boolean;
  try {
    gzipped = await startsWithGzipMagic(path);
  } catch (err) {
    throw new DataError(`cannot read text file ${path}: ${errorMessage(err)}`);
  }
  // Plain text gives at most one symbol per byte, so the file size is an exact upper bound and the
  // buffer never grows; gzip output size is unknown up front, so the cleaner doubles as needed.
  const cleaner = new TextCleaner(Math.min(gzipped ? Math.min(size * 4, 1 << 26) : size, limit));
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  // pipeline() destroys every stage on error, so a bad gzip stream rejects the iteration below.
  const source: Readable = gzipped ? pipeline(file, createGunzip(), () => undefined) : file;
  let bytesRead = 0;
  let nulByte = false;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      const room = limit - bytesRead;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (!nulByte && bytesRead < BINARY_CHECK_BYTES) nulByte = part.subarray(0, BINARY_CHECK_BYTES - bytesRead).includes(0);
      cleaner.push(part);
      bytesRead += part.length;
      if (bytesRead >= limit) break; // leaving the loop destroys the streams
    }
  } catch (err) {
    throw streamError(path, gzipped, err);
  } finally {
    file.destroy();
  }
  const symbols = cleaner.finish();
  if (symbols.length === 0) {
    throw new DataError(
      `${path} contains no usable text (0 symbols after cleaning ${bytesRead} bytes; only letters and whitespace are kept)`,
    );
  }
  if (symbols.length < MIN_SYMBOL_SHARE * bytesRead) {
    throw new DataError(
      `${path} is not text: cleaning kept ${symbols.length.toLocaleString("en")} symbols of ${bytesRead.toLocaleString("en")} bytes (${percent(symbols.length / bytesRead)}; only letters and whitespace are kept)`,
      "give a plain-text file (or its gzip) in a Latin alphabet",
    );
  }
  return { symbols, bytesRead, nulByte, path };
}

/**
 * Path of the bundled corpus (data/text8-excerpt.txt.gz at the package root). Compiled code lives
 * at dist/src/data/ (root three levels up); running the sources directly, src/data/ (two levels).
 */
export function bundledCorpusPath(): string {
  const candidates = [
    new URL(`../../../data/${BUNDLED_CORPUS_FILE}`, import.meta.url),
    new URL(`../../data/${BUNDLED_CORPUS_FILE}`, import.meta.url),
  ].map((url) => fileURLToPath(url));
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  throw new DataError(`bundled corpus not found (looked for ${candidates.join(" and ")}); reinstall the package`);
}

/** An IDX array (MNIST's format): dimension sizes and the unsigned-byte payload, row-major. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file (plain or gzip): magic 0x00 0x00, type 0x08 (unsigned byte), number of
 * dimensions, then each dimension as a big-endian uint32, then exactly prod(dims) bytes.
 */
export async function readIdx(path: string): Promise<IdxArray> {
  await checkFile(path, "IDX file");
  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new DataError(`cannot read IDX file ${path}: ${errorMessage(err)}`);
  }
  let bytes = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(raw);
    } catch (err) {
      throw new DataError(`${path} is not a valid gzip file: ${errorMessage(err)}`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(`${path} is not an IDX file (it does not start with the magic bytes 00 00)`);
  }
  if (bytes[2] !== 0x08) {
    const type = bytes[2].toString(16).padStart(2, "0");
    throw new DataError(`${path}: IDX element type 0x${type} is not supported (only 0x08, unsigned byte)`);
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new DataError(`${path}: IDX header has 0 dimensions`);
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new DataError(`${path}: IDX file is truncated inside its header (${bytes.length} bytes, header needs ${headerLength})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let elements = 1;
  for (let d = 0; d < ndims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    elements *= size;
  }
  const payload = bytes.length - headerLength;
  if (payload !== elements) {
    throw new DataError(
      `${path}: IDX payload has ${payload} bytes, but dimensions ${dims.join("×")} need ${elements}` +
        (payload < elements ? " (file truncated)" : " (trailing bytes)"),
    );
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, elements) };
}

/** An MNIST split (`loadMnist`): images scaled to [0, 1] and their labels. */
export interface MnistSet {
  /** count·rows·cols pixels scaled to [0, 1] (pixel / 255), sample-major, each image row-major. */
  images: Float32Array;
  /** Digit labels 0..9. */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

/** Finds `name.gz` or, failing that, the uncompressed `name` in dir. */
function mnistFile(dir: string, name: string): string {
  const gz = join(dir, `${name}.gz`);
  if (existsSync(gz)) return gz;
  const plain = join(dir, name);
  if (existsSync(plain)) return plain;
  throw new DataError(`MNIST file not found: ${gz}`);
}

/**
 * Loads the MNIST training (60,000) or test (10,000) set from the four standard files
 * (`train-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`, …; Fashion-MNIST uses the same names).
 */
export async function loadMnist(dir: string, split: "train" | "test"): Promise<MnistSet> {
  const prefix = split === "train" ? "train" : "t10k";
  const imagePath = mnistFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelPath = mnistFile(dir, `${prefix}-labels-idx1-ubyte`);
  const [imageIdx, labelIdx] = await Promise.all([readIdx(imagePath), readIdx(labelPath)]);
  if (imageIdx.dims.length !== 3) {
    throw new DataError(`${imagePath}: MNIST images need 3 dimensions (count, rows, cols), got ${imageIdx.dims.length}`);
  }
  if (labelIdx.dims.length !== 1) {
    throw new DataError(`${labelPath}: MNIST labels need 1 dimension (count), got ${labelIdx.dims.length}`);
  }
  const [count, rows, cols] = imageIdx.dims as [number, number, number];
  if (labelIdx.dims[0] !== count) {
    throw new DataError(`${labelPath} has ${labelIdx.dims[0]} labels but ${imagePath} has ${count} images`);
  }
  const labels = labelIdx.data;
  for (let i = 0; i < count; i++) {
    if (labels[i] > 9) throw new DataError(`${labelPath}: label ${labels[i]} at index ${i} is not a digit 0..9`);
  }
  const pixels = imageIdx.data;
  const images = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) images[i] = pixels[i] / 255;
  return { images, labels, count, rows, cols };
}

/** A CSV table file (plain or gzip) as samples (samples.ts `parseCsv`). */
export async function readCsvSamples(path: string, o: Omit<CsvOptions, "source"> = {}): Promise<SampleSet> {
  await checkFile(path, "CSV file");
  let bytes: Uint8Array = await readFile(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${path} is not UTF-8 text, so not a CSV file`);
  }
  return parseCsv(text, { ...o, source: path });
}

/** MNIST-format idx images (MNIST, Fashion-MNIST) as samples: pixels in [0, 1], 10 classes. */
export async function readImageSamples(dir: string, split: "train" | "test"): Promise<SampleSet> {
  const set = await loadMnist(dir, split);
  const f = set.rows * set.cols;
  return {
    features: set.images,
    count: set.count,
    featureCount: f,
    labels: Int32Array.from(set.labels),
    outputs: 10,
    outputNames: Array.from({ length: 10 }, (_, i) => String(i)),
    featureNames: Array.from({ length: f }, (_, i) => `pixel ${Math.floor(i / set.cols)},${i % set.cols}`),
  };
}

/**
 * The folder of a named image set (mnist, fashion-mnist): $SPARSEWIRE_DATA/NAME, data/NAME or
 * ../shared/data/NAME, the first that holds train-images-idx3-ubyte(.gz). `flag` names the option
 * in the error.
 */
export function findImageFolder(name: string, flag: string): string {
  const env = typeof process !== "undefined" ? process.env["SPARSEWIRE_DATA"] : undefined;
  const places = [env ? join(env, name) : undefined, join("data", name), join("..", "shared", "data", name)].filter((p): p is string => p !== undefined);
  const found = places.find((p) => existsSync(join(p, "train-images-idx3-ubyte.gz")) || existsSync(join(p, "train-images-idx3-ubyte")));
  if (!found) throw new UsageError(`${flag} ${name}: no ${name} idx files in ${places.join(", ")}`, "give the folder that holds train-images-idx3-ubyte(.gz), or set SPARSEWIRE_DATA");
  return found;
}
