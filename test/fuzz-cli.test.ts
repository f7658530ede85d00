/**
 * Issue 14 item 4 through the command line: `sparsewire info` on mutated model files prints one
 * "sparsewire: error:" line (and at most a hint), exits 1 or 2 and shows no stack trace; a save
 * that the operating system refuses (a folder without write permission, a file size limit hit
 * mid-write) keeps the previous file and says so in one line. Few processes (13): the
 * fuzzing proper is in-process (fuzz-files.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { cli, cliRunner } from "./cli-helpers.js";
import { decodeModel } from "../src/io/model-file.js";
import { corpusText, fixtures, mutate, mutationsArb, type Fixture, type Mutation } from "./fuzz-driver.test.js";

/** Whether the bytes fail to load in-process (then the command must fail too). */
function refusedInProcess(bytes: Uint8Array, name: string): boolean {
  try {
    decodeModel(bytes, name.endsWith(".json") ? "json" : "safetensors", name);
    return false;
  } catch {
    return true;
  }
}

/** The command's stderr is one error line naming the file, plus at most a hint; no stack trace. */
function assertOneLineError(r: { code: number | null; stdout: string; stderr: string }, file: string, what: string): void {
  assert.ok(r.code === 1 || r.code === 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.match(lines[0]!, /^sparsewire: error: /, `${what}: ${r.stderr}`);
  assert.ok(lines[0]!.includes(file), `${what}: the error names ${file}: ${lines[0]}`);
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1]!.startsWith("hint: ")), `${what}: more than one error line:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at |internal error/m, `${what}: a stack trace or an internal error`);
  assert.equal(r.stdout, "", `${what}: nothing on stdout`);
}

test("info on mutated model files: one error line, exit 1 or 2, no stack trace", async () => {
  const { work, run } = cliRunner("sw-fuzz-cli-");
  const [fj, fs, qj, qs] = await Promise.all([fixtures("float-json"), fixtures("float-safetensors"), fixtures("quantized-json"), fixtures("quantized-safetensors")]);
  const gz = (await fixtures("gzip-corpus"))[0]!;
  const deep = "[".repeat(20_000) + "]".repeat(20_000);
  const at = (f: Fixture, needle: string): number => new TextDecoder().decode(f.bytes).indexOf(needle) + needle.length;
  const chosen: Array<[string, Fixture, Mutation[]]> = [
    ["truncated.json", fj[0]!, [{ op: "truncate", at: 700 }]],
    ["huge-neurons.json", fj[2]!, [{ op: "number", at: at(fj[2]!, '"neurons"'), text: "2147483648" }]],
    ["deep-training.json", fj[0]!, [{ op: "token", at: at(fj[0]!, '"training": {'), text: `"deep": ${deep}, `, remove: 0 }]],
    ["header-length.safetensors", fs[0]!, [{ op: "word", at: 0, value: 0xffffffff, size: 4, relative: false }]],
    ["bits.json", qj[0]!, [{ op: "number", at: at(qj[0]!, '"bits"'), text: "9" }]],
    ["inputs.safetensors", qs[0]!, [{ op: "number", at: at(qs[0]!, '"inputs":"'), text: "500000000" }]],
    ["gzip.json", gz, []],
  ];
  // Two cases drawn by the fuzzer's own arbitraries (seeded), among those refused in-process.
  for (const [i, f] of [fs[1]!, qs[1]!].entries()) {
    const ops = fc.sample(mutationsArb(f), { seed: 14 + i, numRuns: 50 }).find((o) => refusedInProcess(mutate(f.bytes, o), f.name));
    assert.ok(ops, "a refused mutation among 50");
    chosen.push([`random-${i}.safetensors`, f, ops]);
  }
  for (const [name, f, ops] of chosen) {
    const bytes = mutate(f.bytes, ops);
    assert.ok(refusedInProcess(bytes, name), `${name}: the mutated file is refused in-process`);
    writeFileSync(join(work, name), bytes);
    assertOneLineError(run(["info", "--model", name]), name, `info ${name} (${f.name} with ${JSON.stringify(ops).slice(0, 200)})`);
  }
  // A mutation that hit nothing meaningful (a weight's last digit) still loads and is described.
  writeFileSync(join(work, "fine.json"), new TextDecoder().decode(fj[1]!.bytes).replace(/("weights": \[\n(?:.*\n)*?.*?\d)(\d)\]/, (_, a: string, b: string) => `${a}${(Number(b) + 1) % 10}]`));
  const fine = run(["info", "--model", "fine.json"]);
  assert.equal(fine.code, 0, fine.stderr);
  assert.match(fine.stdout, /^model {7}fine\.json$/m);
});

/**
 * How this process can be refused a write to a folder for real: chmod 555, unless it runs as root
 * (root writes there anyway), then `chattr +i` (immutable: even root gets EPERM) where the file
 * system supports it. Undefined when neither works; the injected EACCES/EPERM cases of
 * fuzz-atomic.test.ts cover the same code then.
 */
function lockFolder(folder: string): { unlock: () => void; how: string } | undefined {
  const probe = join(folder, ".probe");
  const writable = (): boolean => {
    try {
      writeFileSync(probe, "");
      rmSync(probe);
      return true;
    } catch {
      return false;
    }
  };
  chmodSync(folder, 0o555);
  if (!writable()) return { unlock: () => chmodSync(folder, 0o755), how: "chmod 555" };
  chmodSync(folder, 0o755);
  if (spawnSync("chattr", ["+i", folder]).status === 0) {
    const unlock = (): void => void spawnSync("chattr", ["-i", folder]);
    if (!writable()) return { unlock, how: "chattr +i" };
    unlock();
  }
  return undefined;
}

test("a save the operating system refuses keeps the previous file and says so in one line", async (t) => {
  const { work, run } = cliRunner("sw-fuzz-cli-save-");
  writeFileSync(join(work, "model.safetensors"), (await fixtures("float-safetensors"))[0]!.bytes);
  writeFileSync(join(work, "text.txt"), corpusText(3, 3000));
  const quantize = (save: string): string[] => ["quantize", "--model", "model.safetensors", "--bits", "8", "--by", "max", "--batches", "1", "--batch", "8", "--eval-split", "none", "--engine", "reference", "--text", "text.txt", "--save", save];
  const previous = new TextEncoder().encode("the previous file\n");

  // A file size limit (RLIMIT_FSIZE, 1 KiB; Node ignores SIGXFSZ): the write of the 1.4 KB file
  // fails with EFBIG part way, for root too.
  writeFileSync(join(work, "limited.safetensors"), previous);
  const limited = spawnSync("bash", ["-c", `ulimit -f 1 && exec "$0" "$@"`, process.execPath, cli, ...quantize("limited.safetensors")], { cwd: work, encoding: "utf8" });
  if (limited.error) t.diagnostic(`no bash: the file size limit case is skipped (${limited.error.message})`);
  else {
    assertOneLineError({ code: limited.status, stderr: limited.stderr, stdout: "" }, "limited.safetensors", "quantize --save under ulimit -f 1");
    assert.match(limited.stderr, /^sparsewire: error: cannot save limited\.safetensors: writing the temporary file failed \(EFBIG: file too large, write\); the previous file is unchanged$/m);
    assert.deepEqual(new Uint8Array(readFileSync(join(work, "limited.safetensors"))), previous);
  }

  // A folder this process may not write to.
  const folder = join(work, "locked");
  mkdirSync(folder);
  writeFileSync(join(folder, "out.safetensors"), previous);
  const lock = lockFolder(folder);
  if (!lock) {
    t.diagnostic("running as root on a file system without chattr: the read-only folder case is covered by the injected EACCES of fuzz-atomic.test.ts");
  } else {
    t.diagnostic(`folder locked by ${lock.how}`);
    try {
      const r = run(quantize("locked/out.safetensors"));
      assertOneLineError({ ...r, stdout: "" }, "locked/out.safetensors", `quantize --save into a folder locked by ${lock.how}`);
      assert.match(r.stderr, /^sparsewire: error: cannot save locked\/out\.safetensors: no permission to create files in .*locked; the previous file is unchanged$/m);
    } finally {
      lock.unlock();
    }
    assert.deepEqual(new Uint8Array(readFileSync(join(folder, "out.safetensors"))), previous);
    assert.deepEqual(readdirSync(folder), ["out.safetensors"], "no temporary file");
  }
  // The same command where nothing stops it saves (the cases above failed for the reason shown).
  const ok = run(quantize("ok.safetensors"));
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(existsSync(join(work, "ok.safetensors")));
});
