/**
 * Issue 14 item 5.4: `--text /bin/ls` trained on a binary file without a word. readTextCorpus now
 * reports whether a NUL byte occurs near the start and refuses files that keep under 1 % of their
 * bytes; the command line warns, in one line on stderr, when under half the bytes were kept or the
 * file has a NUL byte. The library itself never prints.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { corpusWarning, readTextCorpus } from "../src/data/files.js";
import { loadText } from "../src/cli/common.js";
import { DataError } from "../src/util/errors.js";
import { cliRunner } from "./cli-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "sw-user-text-"));
const file = (name: string, data: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};
const english = "the quick brown fox jumps over the lazy dog ".repeat(2000);
/** Bytes like a compiled program: mostly non-text, NULs, and some strings. */
function binaryLike(bytes: number, textShare: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = 12345;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const r = (x >>> 8) / (1 << 24);
    out[i] = r < textShare ? 0x61 + (x % 26) : r < textShare + 0.2 ? 0 : 0x80 + (x % 100);
  }
  return out;
}

/** Runs the CLI's loadText and returns its stderr. */
async function stderrOf(path: string): Promise<{ stderr: string; symbols: number }> {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    const t = await loadText(path);
    return { stderr, symbols: t.symbols.length };
  } finally {
    process.stderr.write = write;
  }
}

test("readTextCorpus reports the bytes read, the symbols kept and a NUL byte near the start", async () => {
  const plain = await readTextCorpus(file("english.txt", english));
  assert.equal(plain.bytesRead, english.length);
  assert.equal(plain.nulByte, false);
  assert.equal(corpusWarning(plain), undefined);
  const bin = await readTextCorpus(file("prog", binaryLike(100_000, 0.3)));
  assert.equal(bin.bytesRead, 100_000);
  assert.equal(bin.nulByte, true);
  assert.ok(bin.symbols.length > 0.25 * bin.bytesRead && bin.symbols.length < 0.35 * bin.bytesRead);
  // A NUL after the first 64 KiB does not count; gzip is looked at decompressed.
  const late = new TextEncoder().encode(english + english);
  const withLateNul = new Uint8Array(late.length + 1);
  withLateNul.set(late);
  assert.ok(late.length > 64 * 1024);
  assert.equal((await readTextCorpus(file("late-nul.txt", withLateNul))).nulByte, false);
  const early = new Uint8Array(late);
  early[70] = 0;
  assert.equal((await readTextCorpus(file("early-nul.txt.gz", gzipSync(early)))).nulByte, true);
});

test("readTextCorpus refuses a file that keeps under 1 % of its bytes, in one line naming it", async () => {
  const path = file("mostly-binary", binaryLike(50_000, 0.005));
  await assert.rejects(readTextCorpus(path), (e: unknown) => {
    assert.ok(e instanceof DataError, String(e));
    assert.match(e.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not text: cleaning kept \\d+ symbols of 50,000 bytes`));
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

test("the command line warns once on stderr for a binary file or one that is mostly not text", async () => {
  const prog = file("prog2", binaryLike(100_000, 0.6)); // most bytes are letters, but NULs: a binary
  const a = await stderrOf(prog);
  assert.equal(a.stderr.trim().split("\n").length, 1, a.stderr);
  assert.match(a.stderr, new RegExp(`^sparsewire: warning: .*prog2 does not look like text: cleaning kept ${a.symbols.toLocaleString("en")} symbols of 100,000 bytes \\(\\d+ %\\), and it has a NUL byte in its first 64 KiB`));
  const markup = file("markup.txt", "<td>1</td><td>2</td>; a ".repeat(3000)); // 11 symbols ("tdtdtdtd a ") of 24 bytes, no NUL
  const b = await stderrOf(markup);
  assert.match(b.stderr, /^sparsewire: warning: .*markup\.txt does not look like text: cleaning kept 33,000 symbols of 72,000 bytes \(46 %\); only letters and whitespace are kept\n$/);
  assert.equal((await stderrOf(file("english2.txt", english))).stderr, "", "text: no warning");
});

test("sparsewire train --text on a binary file: a warning first; under 1 % kept: a one-line error", () => {
  const { run } = cliRunner("sparsewire-user-text-");
  const prog = file("prog3", binaryLike(30_000, 0.4));
  const r = run(["train", "--text", prog, "--neurons", "200", "--in-degree", "3", "--context", "4", "--batch", "8", "--steps", "2", "--eval-every", "0", "--engine", "reference", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^sparsewire: warning: .*prog3 does not look like text/m);
  const bad = run(["train", "--text", file("prog4", binaryLike(30_000, 0.001)), "--steps", "2"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /sparsewire: error: .*prog4 is not text: cleaning kept \d+ symbols of 30,000 bytes/);
});
