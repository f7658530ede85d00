/**
 * Issue 14 item 5.3: a save killed with SIGKILL leaves a full-size `.NAME.tmp-PID-…` file; the next
 * save of the same target removes it when PID is no longer running (or the file is over an hour
 * old), and touches nothing else: live writers' files, other targets' files, other names, folders.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeStaleTemps, tempPrefix, writeFileAtomic } from "../src/io/atomic.js";
import { loadNetwork, saveNetwork } from "../src/io/model-file.js";
import { randomNetwork } from "./helpers.js";

/** The PID of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(r.status, 0);
  assert.throws(() => process.kill(r.pid!, 0), (e: NodeJS.ErrnoException) => e.code === "ESRCH", "the child is gone");
  return r.pid!;
}

test("saving removes the stale temporary files of dead writers of that target, and nothing else", async () => {
  const folder = mkdtempSync(join(tmpdir(), "sw-user-atomic-"));
  // A live writer that is not this process: a sleeping child.
  const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 120000)"], { stdio: "ignore" });
  try {
    const live = sleeper.pid!;
    const dead = deadPid();
    const path = join(folder, "model.safetensors");
    const prefix = tempPrefix(path);
    assert.equal(prefix, ".model.safetensors.tmp-");
    const stale = `${prefix}${dead}-0badc0de`;
    const staleOld = `${prefix}${live}-0000aaaa`; // a live PID, but not written for two hours (PID reuse)
    const kept = [
      `${prefix}${live}-1234abcd`, // a live writer
      `${prefix}${process.pid}-5678abcd`, // this process (another thread may be writing it)
      `${prefix}${process.ppid}-9abcdef0`, // the test runner
      `.other.safetensors.tmp-${dead}-0badc0de`, // another target
      `.model.safetensors.tmp-${dead}-0badc0de.bak`, // not the writer's form
      `${prefix}${dead}-xyz`,
      `${prefix}notes`,
      `${prefix}0-0badc0de`, // PID 0 is a process group, never "dead"
      "model.safetensors.tmp-1-0badc0de",
    ];
    for (const name of [stale, staleOld, ...kept]) writeFileSync(join(folder, name), "x".repeat(1000));
    const oldTime = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(join(folder, staleOld), oldTime, oldTime);
    // A folder with a stale file's name is not a file the writer made.
    const dir = `${prefix}${dead}-feedf00d`;
    mkdirSync(join(folder, dir));

    const net = randomNetwork(3, { neurons: 80, inputs: 54, outputs: 10, inDegree: 4 });
    saveNetwork(path, net);
    assert.ok(!existsSync(join(folder, stale)), "the dead writer's file is removed");
    assert.ok(!existsSync(join(folder, staleOld)), "the two-hour-old file is removed");
    assert.deepEqual(readdirSync(folder).sort(), ["model.safetensors", dir, ...kept].sort());
    assert.equal(loadNetwork(path).edges, net.edges);

    // The same through the writer directly, and for a target without an extension.
    const plain = join(folder, "notes");
    const leftover = join(folder, `.notes.tmp-${dead}-00000001`);
    writeFileSync(leftover, "partial");
    writeFileAtomic(plain, "hello\n");
    assert.ok(!existsSync(leftover));
    assert.deepEqual(removeStaleTemps(path), [], "nothing more to remove");
  } finally {
    sleeper.kill();
    rmSync(folder, { recursive: true, force: true });
  }
});

test("a temporary file left by a writer killed with SIGKILL is gone after the next save", async () => {
  const folder = mkdtempSync(join(tmpdir(), "sw-user-atomic-kill-"));
  try {
    const path = join(folder, "big.bin");
    const atomicUrl = new URL("../src/io/atomic.js", import.meta.url).href;
    // The child's writer is stopped for good between writing and renaming: its verify step waits.
    const child = `
      import { writeFileAtomic } from ${JSON.stringify(atomicUrl)};
      writeFileAtomic(${JSON.stringify(path)}, new Uint8Array(1 << 20), undefined, () => {
        process.stdout.write("written\\n");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
      });
    `;
    const p = spawn(process.execPath, ["--input-type=module", "-e", child], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      p.stdout.on("data", () => {
        p.kill("SIGKILL");
        resolve();
      });
      p.on("error", reject);
    });
    await new Promise((resolve) => p.on("close", resolve));
    const left = readdirSync(folder);
    assert.equal(left.length, 1, `the killed save left its temporary file: ${left.join(", ")}`);
    assert.match(left[0]!, new RegExp(`^\\.big\\.bin\\.tmp-${p.pid}-[0-9a-f]{8}$`));
    writeFileAtomic(path, new Uint8Array(10));
    assert.deepEqual(readdirSync(folder), ["big.bin"]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
