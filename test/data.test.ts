/**
 * Tests of the data layer (§4.6): the 27-symbol cleaning rules, one-hot window encoding, contiguous
 * splits, seeded sampling, file reading (plain / gzip / errors), the bundled text8 excerpt and
 * MNIST from ../shared/data.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { DataError, ShapeError, UsageError } from "../src/util/errors.js";
import { Rng } from "../src/util/rng.js";
import { TEXT_ALPHABET, TextCleaner, cleanText, decodeSymbols } from "../src/data/text.js";
import {
  WindowSampler,
  fillOneHotWindows,
  sequentialPositions,
  splitCorpus,
  windowCount,
} from "../src/data/windows.js";
import {
  BUNDLED_CORPUS_SYMBOLS,
  bundledCorpusPath,
  loadMnist,
  readIdx,
  readTextCorpus,
} from "../src/data/files.js";

// Compiled to dist/test/, so the repository root is two levels up.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sharedData = resolve(repoRoot, "../shared/data");

function clean(text: string): string {
  return decodeSymbols(cleanText(text));
}

function symbolsOf(text: string): Uint8Array {
  return Uint8Array.from(Array.from(text, (c) => TEXT_ALPHABET.indexOf(c)));
}

function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sparsewire-data-"));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

// ---------------------------------------------------------------- cleaning rules

test("alphabet: 27 symbols, a-z then space", () => {
  assert.equal(TEXT_ALPHABET.length, 27);
  assert.equal(TEXT_ALPHABET[26], " ");
  assert.deepEqual(Array.from(cleanText("az ")), [0, 25, 26]);
});

test("cleaning: A-Z are lowercased, a-z kept", () => {
  assert.equal(clean("Hello WORLD"), "hello world");
  assert.equal(clean("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "abcdefghijklmnopqrstuvwxyz");
  assert.equal(clean("abcdefghijklmnopqrstuvwxyz"), "abcdefghijklmnopqrstuvwxyz");
});

test("cleaning: digits, punctuation and markup are dropped, not turned into spaces", () => {
  assert.equal(clean("abc123def"), "abcdef");
  assert.equal(clean("it's"), "its");
  assert.equal(clean("[[link|Text]]{{x}}<b>y</b>&amp;"), "linktextxbybamp");
  assert.equal(clean("!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~"), "");
  // Control bytes other than whitespace are dropped too.
  assert.equal(clean("a\u0000b\u0007c\u001bd\u007fe"), "abcde");
});

test("cleaning: every whitespace kind becomes one space", () => {
  for (const ws of [" ", "\t", "\n", "\r", "\f", "\v"]) {
    assert.equal(clean(`a${ws}b`), "a b", `whitespace ${JSON.stringify(ws)}`);
  }
});

test("cleaning: runs of spaces collapse, also across dropped characters; a leading space is kept", () => {
  assert.equal(clean("a \t\r\n\f\v  b"), "a b");
  assert.equal(clean("a , b"), "a b"); // "a  b" after dropping the comma
  assert.equal(clean("  lead"), " lead");
  assert.equal(clean("trail \n"), "trail ");
  assert.equal(clean("\n\n"), " ");
  assert.equal(clean(""), "");
});

test("cleaning: non-ASCII UTF-8 is dropped byte-wise", () => {
  // é, ï and the em dash are multi-byte UTF-8; each of their bytes is >= 0x80 and dropped.
  assert.equal(clean("café naïve — x"), "caf nave x");
  assert.equal(clean("日本語 text"), " text");
  const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0x80, 0x41]); // "caf\xe9 \xff\x80A"
  assert.equal(decodeSymbols(cleanText(latin1)), "caf a");
});

test("cleaning: chunk boundaries never change the result", () => {
  const text = "  The Café, 3 naïve\t\tCATS —\r\n\n jumped! over  the\vlazy dog.  ";
  const bytes = new TextEncoder().encode(text);
  const whole = cleanText(bytes);
  assert.equal(decodeSymbols(whole), " the caf nave cats jumped over the lazy dog ");
  for (let cut = 0; cut <= bytes.length; cut++) {
    const cleaner = new TextCleaner(4); // small, so pushes also exercise growth
    cleaner.push(bytes.subarray(0, cut));
    cleaner.push(bytes.subarray(cut));
    assert.deepEqual(cleaner.finish(), whole, `cut at byte ${cut}`);
  }
  const oneByOne = new TextCleaner(1);
  for (let i = 0; i < bytes.length; i++) oneByOne.push(bytes.subarray(i, i + 1));
  assert.deepEqual(oneByOne.finish(), whole);
});

test("cleaner: finish() resets it; decodeSymbols rejects out-of-alphabet symbols", () => {
  const cleaner = new TextCleaner();
  cleaner.push(new TextEncoder().encode("ab "));
  assert.equal(cleaner.length, 3);
  assert.equal(decodeSymbols(cleaner.finish()), "ab ");
  cleaner.push(new TextEncoder().encode(" c"));
  assert.equal(decodeSymbols(cleaner.finish()), " c"); // the space state was reset too
  assert.throws(() => decodeSymbols(Uint8Array.from([0, 27])), DataError);
  assert.equal(decodeSymbols(Uint8Array.from([1, 0]), "xy"), "yx");
});

// ---------------------------------------------------------------- windows

test("windows: one-hot encoding matches a hand-computed example (context 3)", () => {
  // "cab d" = symbols c=2 a=0 b=1 space=26 d=3
  const symbols = symbolsOf("cab d");
  assert.deepEqual(Array.from(symbols), [2, 0, 1, 26, 3]);
  const positions = Int32Array.from([3, 4, 3]);
  const active = new Int32Array(9).fill(-1);
  const targets = new Int32Array(3).fill(-1);
  fillOneHotWindows(symbols, 3, positions, 2, active, targets);
  // t = 3: context c a b -> 0*27+2, 1*27+0, 2*27+1; target space (26)
  // t = 4: context a b ' ' -> 0*27+0, 1*27+1, 2*27+26; target d (3)
  assert.deepEqual(Array.from(active), [2, 27, 55, 0, 28, 80, -1, -1, -1]);
  assert.deepEqual(Array.from(targets), [26, 3, -1]);
  // The default 20-symbol context gives input neurons 0..539 (§4.6: 540 inputs).
  const long = cleanText("the quick brown fox jumps over the lazy dog");
  const a = new Int32Array(20);
  fillOneHotWindows(long, 20, [long.length - 1], 1, a, new Int32Array(1));
  assert.ok(Array.from(a).every((v, p) => v >= p * 27 && v < (p + 1) * 27 && v < 540));
});

test("windows: bad positions and buffers are refused", () => {
  const symbols = symbolsOf("abcdef");
  const active = new Int32Array(6);
  const targets = new Int32Array(2);
  assert.throws(() => fillOneHotWindows(symbols, 3, [2], 1, active, targets), DataError);
  assert.throws(() => fillOneHotWindows(symbols, 3, [6], 1, active, targets), DataError);
  assert.throws(() => fillOneHotWindows(symbols, 3, [3, 4, 5], 3, active, targets), ShapeError);
  assert.throws(() => fillOneHotWindows(Uint8Array.from([0, 1, 27, 2]), 2, [3], 1, active, targets), DataError);
  assert.equal(windowCount(symbols, 3), 3);
  assert.equal(windowCount(symbols, 10), 0);
});

test("splits: contiguous views, sizes add up, no copy", () => {
  const symbols = new Uint8Array(1000);
  for (let i = 0; i < symbols.length; i++) symbols[i] = i % 27;
  const splits = splitCorpus(symbols, [0.9, 0.05, 0.05], 20);
  assert.deepEqual(splits.map((s) => s.name), ["train", "valid", "test"]);
  assert.deepEqual(splits.map((s) => s.symbols.length), [900, 50, 50]);
  let offset = 0;
  for (const split of splits) {
    assert.equal(split.symbols.buffer, symbols.buffer);
    assert.equal(split.symbols.byteOffset, offset);
    offset += split.symbols.length;
  }
  assert.equal(offset, symbols.length);
  // Defaults are 90/5/5 and context 20.
  assert.deepEqual(splitCorpus(symbols).map((s) => s.symbols.length), [900, 50, 50]);
  // Rounding of cumulative boundaries: parts always cover the corpus exactly.
  // Boundaries are round(cumulative fraction × length): 812 × 0.9 = 730.8 -> 731, 812 × 0.95 = 771.4 -> 771.
  assert.deepEqual(splitCorpus(new Uint8Array(812)).map((s) => s.symbols.length), [731, 40, 41]);
  const odd = splitCorpus(new Uint8Array(813), [0.8, 0.1, 0.1], 20);
  assert.equal(odd.reduce((n, s) => n + s.symbols.length, 0), 813);
});

test("splits: too-short corpora and bad fractions are refused with clear messages", () => {
  assert.throws(
    () => splitCorpus(new Uint8Array(400), [0.9, 0.05, 0.05], 20),
    (err: unknown) =>
      err instanceof DataError &&
      err.message ===
        "corpus has 400 symbols: the validation split (5 %) holds 20 symbols, fewer than context + 1 = 21; use a longer text",
  );
  assert.throws(() => splitCorpus(new Uint8Array(1000), [0.9, 0.09, 0.01], 20), /the test split \(1 %\) holds 10 symbols/);
  assert.throws(() => splitCorpus(new Uint8Array(20), [0.9, 0.05, 0.05], 20), /the training split \(90 %\) holds 18 symbols/);
  // Exactly context + 1 symbols (one window) per split is enough.
  assert.doesNotThrow(() => splitCorpus(new Uint8Array(42), [0.5, 0.5], 20));
  assert.throws(() => splitCorpus(new Uint8Array(41), [0.5, 0.5], 20), DataError);
  assert.throws(() => splitCorpus(new Uint8Array(1000), [0.9, 0.05, 0.06], 20), UsageError);
  assert.throws(() => splitCorpus(new Uint8Array(1000), [1.1, -0.1], 20), UsageError);
  assert.throws(() => splitCorpus(new Uint8Array(1000), [], 20), UsageError);
  assert.throws(() => splitCorpus(new Uint8Array(1000), [1], 0), UsageError);
  // Sums within 1e-9 are fine (0.1 + 0.2 + 0.7 is not exactly 1 in floating point).
  assert.doesNotThrow(() => splitCorpus(new Uint8Array(1000), [0.1, 0.2, 0.7], 20));
});

test("sampler: deterministic per seed, different across seeds, always in [context, length)", () => {
  const symbols = new Uint8Array(500);
  const draw = (seed: number): number[] => {
    const sampler = new WindowSampler(symbols, 20, new Rng(seed));
    const positions = new Int32Array(4096);
    sampler.sample(positions, positions.length);
    return Array.from(positions);
  };
  const a = draw(7);
  assert.deepEqual(draw(7), a);
  assert.notDeepEqual(draw(8), a);
  assert.ok(a.every((t) => t >= 20 && t < 500));
  // Uniform over 480 windows: 4096 draws hit both ends and most windows.
  assert.equal(Math.min(...a), 20);
  assert.equal(Math.max(...a), 499);
  assert.ok(new Set(a).size > 450);
  assert.throws(() => new WindowSampler(new Uint8Array(20), 20, new Rng(1)), DataError);
  assert.equal(new WindowSampler(new Uint8Array(21), 20, new Rng(1)).windows, 1);
});

test("sequentialPositions: every t in [context, length) exactly once, in order", () => {
  for (const [length, batch] of [[100, 7], [27, 7], [21, 512], [20, 4], [45, 5]] as const) {
    const seen: number[] = [];
    const counts: number[] = [];
    for (const { positions, count } of sequentialPositions(new Uint8Array(length), 20, batch)) {
      assert.ok(count >= 1 && count <= batch);
      assert.equal(positions.length, batch);
      counts.push(count);
      for (let b = 0; b < count; b++) seen.push(positions[b]);
    }
    const expected = Array.from({ length: Math.max(0, length - 20) }, (_, i) => 20 + i);
    assert.deepEqual(seen, expected, `length ${length}, batch ${batch}`);
    assert.ok(counts.slice(0, -1).every((c) => c === batch));
  }
  assert.throws(() => sequentialPositions(new Uint8Array(100), 20, 0), UsageError);
});

// ---------------------------------------------------------------- files

test("readTextCorpus: a plain file and its gzip give the same symbols", async () => {
  await withTempDir(async (dir) => {
    const text = "Hello, World!\r\n\tIt's 2017 — naïve   café.\n".repeat(5000);
    const bytes = Buffer.from(text, "utf8");
    const plain = join(dir, "plain.txt");
    // A misleading extension: gzip is detected by its magic bytes, not the name.
    const gz = join(dir, "compressed.txt");
    writeFileSync(plain, bytes);
    writeFileSync(gz, gzipSync(bytes));
    const a = await readTextCorpus(plain);
    const b = await readTextCorpus(gz);
    assert.deepEqual(a.symbols, cleanText(text));
    assert.deepEqual(b.symbols, a.symbols);
    assert.equal(a.bytesRead, bytes.length);
    assert.equal(b.bytesRead, bytes.length);
    assert.equal(a.path, plain);
    const prefix = await readTextCorpus(gz, { maxBytes: 14 });
    assert.equal(decodeSymbols(prefix.symbols), "hello world ");
    assert.equal(prefix.bytesRead, 14);
  });
});

test("readTextCorpus: missing file, directory, empty text and corrupt gzip are DataErrors", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "nope.txt");
    await assert.rejects(readTextCorpus(missing), (err: unknown) => {
      return err instanceof DataError && err.message === `text file not found: ${missing}`;
    });
    await assert.rejects(readTextCorpus(dir), (err: unknown) => err instanceof DataError && err.message.includes("directory"));
    const empty = join(dir, "empty.txt");
    writeFileSync(empty, "");
    await assert.rejects(readTextCorpus(empty), (err: unknown) => {
      return err instanceof DataError && err.message.startsWith(`${empty} contains no usable text (0 symbols after cleaning`);
    });
    const digits = join(dir, "digits.txt");
    writeFileSync(digits, "1234, 5678.");
    // "1234, 5678." cleans to a single space: one symbol, not an error.
    assert.equal((await readTextCorpus(digits)).symbols.length, 1);
    const noText = join(dir, "punct.txt");
    writeFileSync(noText, "1234,5678.");
    await assert.rejects(readTextCorpus(noText), DataError);
    const garbage = join(dir, "garbage.gz");
    writeFileSync(garbage, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from("this is not deflate data at all")]));
    await assert.rejects(readTextCorpus(garbage), (err: unknown) => {
      return err instanceof DataError && err.message.includes(garbage) && !err.message.includes("\n");
    });
    const truncated = join(dir, "truncated.gz");
    const full = gzipSync(Buffer.from("some text ".repeat(1000)));
    writeFileSync(truncated, full.subarray(0, full.length >> 1));
    await assert.rejects(readTextCorpus(truncated), (err: unknown) => err instanceof DataError && err.message.includes(truncated));
  });
});

test("bundled corpus: 2,000,000 text8 symbols, unchanged by cleaning, checksum as in data/README.md", async () => {
  const path = bundledCorpusPath();
  assert.ok(existsSync(path));
  const corpus = await readTextCorpus(path);
  assert.equal(corpus.symbols.length, BUNDLED_CORPUS_SYMBOLS);
  assert.equal(corpus.symbols.length, 2_000_000);
  // text8 is already clean, so cleaning keeps every byte: symbols = bytes read.
  assert.equal(corpus.bytesRead, 2_000_000);
  assert.equal(decodeSymbols(corpus.symbols.subarray(0, 40)), " anarchism originated as a term of abuse");
  const text = Buffer.from(decodeSymbols(corpus.symbols), "latin1");
  const sha = createHash("sha256").update(text).digest("hex");
  assert.equal(sha, "c5efa0d845f55b16210c179e813072f90c886c43d3e844543f48ac537ca8cb7b");
  assert.ok(readFileSync(resolve(repoRoot, "data/README.md"), "utf8").includes(sha));
  // With the default context and split, every part has windows.
  const splits = splitCorpus(corpus.symbols);
  assert.deepEqual(splits.map((s) => s.symbols.length), [1_800_000, 100_000, 100_000]);
});

test("text8 prefix in ../shared: cleaning leaves all 6,877,825 characters unchanged", async (t) => {
  const path = join(sharedData, "text8/text8.first-6877825-chars.gz");
  assert.ok(existsSync(path), `shared data missing: ${path} (expected ../shared/data next to the repository)`);
  const start = performance.now();
  const corpus = await readTextCorpus(path);
  const seconds = (performance.now() - start) / 1000;
  assert.equal(corpus.bytesRead, 6_877_825);
  assert.equal(corpus.symbols.length, 6_877_825);
  t.diagnostic(`gunzip + clean: ${(corpus.bytesRead / 1e6 / seconds).toFixed(1)} MB/s`);
});

test("readIdx / loadMnist: the real MNIST test set", async () => {
  const dir = join(sharedData, "mnist");
  assert.ok(existsSync(dir), `MNIST missing: ${dir} (expected ../shared/data/mnist next to the repository)`);
  const labelsIdx = await readIdx(join(dir, "t10k-labels-idx1-ubyte.gz"));
  assert.deepEqual(labelsIdx.dims, [10000]);
  const mnist = await loadMnist(dir, "test");
  assert.equal(mnist.count, 10000);
  assert.equal(mnist.rows, 28);
  assert.equal(mnist.cols, 28);
  assert.equal(mnist.images.length, 10000 * 784);
  assert.equal(mnist.labels.length, 10000);
  let min = Infinity;
  let max = -Infinity;
  for (const v of mnist.images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const histogram = new Array<number>(10).fill(0);
  for (const label of mnist.labels) histogram[label]++;
  assert.ok(histogram.every((n) => n > 800), `label counts ${histogram.join(",")}`);
  // Known first test labels of MNIST: 7 2 1 0 4 1 4 9 5 9.
  assert.deepEqual(Array.from(mnist.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  // Images are sample-major: image 0 (a 7) has ink somewhere and pixel = byte / 255.
  const raw = await readIdx(join(dir, "t10k-images-idx3-ubyte.gz"));
  assert.deepEqual(raw.dims, [10000, 28, 28]);
  for (const i of [0, 200, 784 + 300, 9999 * 784 + 783]) assert.equal(mnist.images[i], Math.fround(raw.data[i] / 255));
});

test("readIdx: bad magic, type, truncation and trailing bytes are DataErrors", async () => {
  await withTempDir(async (dir) => {
    const write = (name: string, bytes: number[]): string => {
      const path = join(dir, name);
      writeFileSync(path, Uint8Array.from(bytes));
      return path;
    };
    const good = write("good", [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
    const idx = await readIdx(good);
    assert.deepEqual(idx.dims, [2, 3]);
    assert.deepEqual(Array.from(idx.data), [1, 2, 3, 4, 5, 6]);
    writeFileSync(join(dir, "good.gz"), gzipSync(readFileSync(good)));
    assert.deepEqual(Array.from((await readIdx(join(dir, "good.gz"))).data), [1, 2, 3, 4, 5, 6]);
    const cases: Array<[string, number[], string]> = [
      ["magic", [1, 0, 8, 1, 0, 0, 0, 1, 9], "magic"],
      ["type", [0, 0, 0x0d, 1, 0, 0, 0, 1, 9], "0x0d"],
      ["header", [0, 0, 8, 3, 0, 0, 0, 1], "header"],
      ["short", [0, 0, 8, 1, 0, 0, 0, 3, 1, 2], "truncated"],
      ["long", [0, 0, 8, 1, 0, 0, 0, 1, 1, 2], "trailing"],
    ];
    for (const [name, bytes, fragment] of cases) {
      const path = write(name, bytes);
      await assert.rejects(readIdx(path), (err: unknown) => {
        return err instanceof DataError && err.message.includes(path) && err.message.includes(fragment);
      }, name);
    }
    await assert.rejects(readIdx(join(dir, "absent")), DataError);
    mkdirSync(join(dir, "mnist"));
    await assert.rejects(loadMnist(join(dir, "mnist"), "train"), (err: unknown) => {
      return err instanceof DataError && err.message.startsWith("MNIST file not found:");
    });
  });
});
