/**
 * Issue 14 item 4.2: a save that fails part way (disk full, quota, permissions, I/O errors at any
 * system call of writeFileAtomic) leaves the previous file byte for byte, leaves no temporary file,
 * and says so in one line naming the path. The failures are injected through the `AtomicFs`
 * parameter (seeded fast-check cases: which call, its how-manyth use, which errno, file size, short
 * writes), around the real node:fs, so the folder checked afterwards is real. fuzz-cli.test.ts
 * makes a real failure through the command line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as nodeFs from "node:fs";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, type AtomicFs } from "../src/io/atomic.js";
import { SparsewireError } from "../src/util/errors.js";

type Call = "openSync" | "writeSync" | "fsyncSync" | "closeSync" | "renameSync";

/** One injected failure: the `nth` use of `call` fails with errno `code`. */
interface Fault {
  call: Call;
  nth: number;
  code: string;
}

const MESSAGES: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "i/o error",
  EROFS: "read-only file system",
  EISDIR: "illegal operation on a directory",
  EFBIG: "file too large",
};

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${MESSAGES[code] ?? "error"}, ${syscall.replace(/Sync$/, "")}${path ? ` '${path}'` : ""}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall.replace(/Sync$/, "");
  if (path) e.path = path;
  return e;
}

/**
 * node:fs with one fault injected, and optionally short writes (at most half of each request, which
 * the writer must continue). A failing close still closes the descriptor, as close(2) does on Linux.
 */
function faultyFs(fault: Fault, shortWrites: boolean): { fs: AtomicFs; calls: Record<Call, number> } {
  const calls: Record<Call, number> = { openSync: 0, writeSync: 0, fsyncSync: 0, closeSync: 0, renameSync: 0 };
  const hit = (call: Call): boolean => ++calls[call] === fault.nth && fault.call === call;
  const fs: AtomicFs = {
    openSync(path, flags, mode) {
      if (hit("openSync")) throw errno(fault.code, "openSync", path);
      return nodeFs.openSync(path, flags, mode);
    },
    writeSync(fd, buffer, offset, length) {
      if (hit("writeSync")) throw errno(fault.code, "writeSync");
      return nodeFs.writeSync(fd, buffer, offset, shortWrites ? Math.max(1, length >> 1) : length);
    },
    fsyncSync(fd) {
      if (hit("fsyncSync")) throw errno(fault.code, "fsyncSync");
      nodeFs.fsyncSync(fd);
    },
    closeSync(fd) {
      nodeFs.closeSync(fd);
      if (hit("closeSync")) throw errno(fault.code, "closeSync");
    },
    renameSync(from, to) {
      if (hit("renameSync")) throw errno(fault.code, "renameSync", from);
      nodeFs.renameSync(from, to);
    },
    unlinkSync: (path) => nodeFs.unlinkSync(path),
  };
  return { fs, calls };
}

/** Folder fsync failures the writer ignores (platforms that cannot sync a folder); as atomic.ts. */
const DIR_SYNC_UNSUPPORTED = new Set(["EISDIR", "EPERM", "EACCES", "EINVAL", "ENOTSUP", "EBADF"]);

const faultArb = fc.record({
  call: fc.constantFrom<Call>("openSync", "writeSync", "fsyncSync", "closeSync", "renameSync"),
  // open, fsync and close are used twice: the temporary file, then the folder (after the rename).
  nth: fc.integer({ min: 1, max: 3 }),
  code: fc.constantFrom("ENOSPC", "EDQUOT", "EACCES", "EPERM", "EIO", "EROFS", "EISDIR", "EFBIG"),
});
// Empty, one byte, a few kilobytes, and (more rarely: each is written and fsynced) one and 2.5 write pieces.
const sizeArb = fc.oneof({ arbitrary: fc.constantFrom(0, 1), weight: 1 }, { arbitrary: fc.integer({ min: 2, max: 5000 }), weight: 4 }, { arbitrary: fc.constantFrom((1 << 20) + 17, (5 << 19) + 3), weight: 1 });

test("a save failing at any system call keeps the previous file, removes its temporary file and says so in one line", () => {
  const folder = mkdtempSync(join(tmpdir(), "sw-fuzz-atomic-"));
  const path = join(folder, "model.safetensors");
  let failures = 0;
  let folderSyncFailures = 0;
  try {
    fc.assert(
      fc.property(faultArb, sizeArb, fc.boolean(), fc.nat(255), (fault, size, shortWrites, fill) => {
        const previous = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7 + fill) & 0xff);
        writeFileSync(path, previous);
        const data = new Uint8Array(size).fill(fill ^ 0x5a);
        const { fs, calls } = faultyFs(fault, shortWrites);
        let error: unknown;
        try {
          writeFileAtomic(path, data, fs);
        } catch (e) {
          error = e;
        }
        assert.deepEqual(readdirSync(folder), ["model.safetensors"], "no temporary file is left");
        const now = readFileSync(path);
        const renamed = calls.renameSync > 0 && !(fault.call === "renameSync" && fault.nth === 1);
        if (!renamed) {
          // The fault struck before the rename: it must be reported, and the old file stays.
          assert.ok(error instanceof SparsewireError, `a failure before the rename is reported (${JSON.stringify(fault)}, ${String(error)})`);
          assert.deepEqual(new Uint8Array(now), previous, "the previous file is unchanged");
          failures++;
        } else {
          assert.deepEqual(new Uint8Array(now), data, "after the rename the new file is in place");
          if (error === undefined) return;
          // Only the folder's fsync comes after the rename; a platform that cannot do it is not an error.
          assert.ok(fault.nth === 2 && (fault.call === "openSync" || fault.call === "fsyncSync") && !DIR_SYNC_UNSUPPORTED.has(fault.code), `unexpected failure after the rename: ${String(error)}`);
          folderSyncFailures++;
        }
        const e = error as SparsewireError;
        assert.equal(e.code, "io");
        assert.doesNotMatch(e.message, /[\r\n]/, "one line");
        assert.ok(e.message.includes(path), `names the path: ${e.message}`);
        if (!renamed) assert.match(e.message, /the previous file is unchanged$/);
        else assert.match(e.message, /^saved .*, but syncing its folder .* failed .*: the new file may not survive a power loss$/);
        if (fault.code === "ENOSPC" && (fault.call === "writeSync" || fault.call === "fsyncSync") && !renamed) assert.match(e.message, /\(the disk is full\)/);
        if (fault.code === "EDQUOT" && fault.call === "writeSync") assert.match(e.message, /\(disk quota exceeded\)/);
        if (fault.call === "openSync" && fault.nth === 1 && (fault.code === "EACCES" || fault.code === "EPERM")) assert.match(e.message, /: no permission to create files in .*; the previous file is unchanged$/);
        if (fault.call === "openSync" && fault.nth === 1 && fault.code === "EROFS") assert.match(e.message, /is on a read-only file system; the previous file is unchanged$/);
        if (fault.call === "renameSync" && fault.code === "EISDIR") assert.match(e.message, /is a folder\); the previous file is unchanged$/);
      }),
      { seed: 0x14a70, numRuns: 300 },
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  assert.ok(failures > 100, `${failures} saves failed before the rename`);
  assert.ok(folderSyncFailures > 0, "some folder fsyncs failed");
});

test("disk full after part of a large file was written: the previous file and its folder are as before", () => {
  const folder = mkdtempSync(join(tmpdir(), "sw-fuzz-atomic-"));
  try {
    const path = join(folder, "model.json");
    writeFileSync(path, "previous contents\n");
    writeFileSync(join(folder, "other.txt"), "untouched");
    // Two 1 MiB pieces go out, the third finds the disk full.
    const { fs, calls } = faultyFs({ call: "writeSync", nth: 3, code: "ENOSPC" }, false);
    assert.throws(() => writeFileAtomic(path, "x".repeat(3 << 20), fs), (e: unknown) => {
      assert.ok(e instanceof SparsewireError);
      assert.equal(e.message, `cannot save ${path}: writing the temporary file failed (the disk is full); the previous file is unchanged`);
      assert.equal((e.cause as NodeJS.ErrnoException).code, "ENOSPC");
      return true;
    });
    assert.equal(calls.writeSync, 3);
    assert.equal(readFileSync(path, "utf8"), "previous contents\n");
    assert.deepEqual(readdirSync(folder).sort(), ["model.json", "other.txt"]);
    // And with permission to create files denied, nothing is written at all.
    const denied = faultyFs({ call: "openSync", nth: 1, code: "EACCES" }, false);
    assert.throws(() => writeFileAtomic(path, "new", denied.fs), { message: `cannot save ${path}: no permission to create files in ${folder}; the previous file is unchanged` });
    assert.equal(denied.calls.writeSync, 0);
    // A rename refused (EACCES on a sticky folder, say): the temporary file goes, the old file stays.
    const noRename = faultyFs({ call: "renameSync", nth: 1, code: "EACCES" }, false);
    assert.throws(() => writeFileAtomic(path, "new", noRename.fs), { message: new RegExp(`^cannot save ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: replacing it failed \\(EACCES: permission denied, rename '.*'\\); the previous file is unchanged$`) });
    assert.equal(readFileSync(path, "utf8"), "previous contents\n");
    assert.deepEqual(readdirSync(folder).sort(), ["model.json", "other.txt"]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
