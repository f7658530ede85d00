/**
 * Two processes started on one protocol folder by mistake must not train the same run twice: a run
 * being trained is claimed by a lock file (pid, host). A lock held by a live process makes others
 * skip the run; a lock whose process is gone is taken over; a lock from another host counts as held
 * until nobody has touched it for LOCK_STALE_SECONDS; the lock is removed when the run is recorded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKPOINTS_FOLDER, claimRun, LOCK_STALE_SECONDS, readRecords, runProtocol, type RunSpec } from "../src/experiments/protocol.js";

const runs: RunSpec[] = ["a", "b", "c"].map((key, i) => ({ key, group: key, seed: i + 1, settings: { key }, cost: 1 }));

function lock(out: string, key: string, holder: { pid: number; host: string }, ageSeconds = 0): void {
  mkdirSync(join(out, CHECKPOINTS_FOLDER), { recursive: true });
  const path = join(out, CHECKPOINTS_FOLDER, `${key}.lock`);
  writeFileSync(path, JSON.stringify(holder) + "\n");
  const t = new Date(Date.now() - ageSeconds * 1000);
  utimesSync(path, t, t);
}

test("protocol runs are claimed by lock files: a live holder's run is skipped, a dead holder's is taken over, locks go when runs are recorded", async () => {
  const out = mkdtempSync(join(tmpdir(), "sparsewire-lock-"));
  const sleeper = spawn("sleep", ["60"]);
  try {
    lock(out, "a", { pid: sleeper.pid!, host: hostname() }); // a live process on this host
    lock(out, "b", { pid: 2 ** 22 + 12345, host: hostname() }); // no such process: abandoned
    lock(out, "c", { pid: 4242, host: "another-host" }, LOCK_STALE_SECONDS + 60); // another host, untouched for too long
    const lines: string[] = [];
    const executed: string[] = [];
    await runProtocol(runs, async (run) => {
      executed.push(run.key);
      return { value: run.seed };
    }, { out, experiment: "lock-test", protocol: { p: 1 }, log: (l) => lines.push(l) });
    assert.deepEqual(executed, ["b", "c"]);
    assert.ok(lines.some((l) => new RegExp(`^a: another process \\(pid ${sleeper.pid} on ${hostname()}\\) is training it; skipped$`).test(l)), lines.join("\n"));
    assert.deepEqual(readRecords(out).map((r) => r.key).sort(), ["b", "c"]);
    const left = readdirSync(join(out, CHECKPOINTS_FOLDER));
    assert.deepEqual(left, ["a.lock"], "the recorded runs' locks are removed; the live holder's stays");
    // A fresh lock from another host is held.
    lock(out, "x", { pid: 4242, host: "another-host" }, 10);
    assert.equal(claimRun(out, "x"), "pid 4242 on another-host");
    // Once the holder is gone, the next invocation trains the skipped run.
    sleeper.kill();
    await new Promise((resolve) => sleeper.once("exit", resolve));
    executed.length = 0;
    await runProtocol(runs, async (run) => {
      executed.push(run.key);
      return { value: run.seed };
    }, { out, experiment: "lock-test", protocol: { p: 1 } });
    assert.deepEqual(executed, ["a"]);
    assert.ok(!existsSync(join(out, CHECKPOINTS_FOLDER, "a.lock")));
  } finally {
    sleeper.kill();
  }
});
