/**
 * Atomic file replacement (Node only): write a temporary file in the target's folder, fsync it,
 * rename it over the target, fsync the folder. rename(2) within one file system is atomic, so a
 * reader (or a crash at any instant) sees either the complete old file or the complete new one,
 * never a partial file. A process killed mid-save may leave its `.name.tmp-PID-*` file behind; it
 * never damages the target, and the next save of the same target removes it (its PID is no longer
 * running, or it is over an hour old). Not a lock: two concurrent writers each win whole, the last
 * rename last.
 */
import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { SparsewireError } from "../util/errors.js";

/** What the writer reads of a stale temporary file before it removes it. */
export interface StaleCandidateInfo {
  /** A regular file (never a folder or a link). */
  isFile(): boolean;
  /** Last modification, ms since the epoch. */
  mtimeMs: number;
}

/** The file-system calls the writer makes; injectable so tests can fail any step. */
export interface AtomicFs {
  /** As node:fs `openSync`; the writer opens the temporary file (flags "wx") and, for its fsync, the folder. */
  openSync(path: string, flags: string, mode?: number): number;
  /** As node:fs `writeSync`: returns the bytes written (short writes are continued). */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** As node:fs `fsyncSync`. */
  fsyncSync(fd: number): void;
  /** As node:fs `closeSync`. */
  closeSync(fd: number): void;
  /** As node:fs `renameSync`: the atomic step. */
  renameSync(oldPath: string, newPath: string): void;
  /** As node:fs `unlinkSync`: removes the temporary file after a failure, and stale ones of earlier writers. */
  unlinkSync(path: string): void;
  /** As node:fs `readdirSync` (names only): lists the folder for stale temporary files; node:fs if absent. */
  readdirSync?(path: string): string[];
  /** As node:fs `lstatSync`: whether a stale candidate is a regular file, and its age; node:fs if absent. */
  lstatSync?(path: string): StaleCandidateInfo;
}

const NODE_FS: AtomicFs = {
  openSync: (path, flags, mode) => nodeFs.openSync(path, flags, mode),
  writeSync: (fd, buffer, offset, length) => nodeFs.writeSync(fd, buffer, offset, length),
  fsyncSync: (fd) => nodeFs.fsyncSync(fd),
  closeSync: (fd) => nodeFs.closeSync(fd),
  renameSync: (from, to) => nodeFs.renameSync(from, to),
  unlinkSync: (path) => nodeFs.unlinkSync(path),
};

/** Writes in 1 MiB pieces: bounded system calls, and short writes are continued. */
const CHUNK = 1 << 20;

/** Folder fsync is not possible everywhere (Windows, some network file systems): skip those. */
const DIR_SYNC_UNSUPPORTED = new Set(["EISDIR", "EPERM", "EACCES", "EINVAL", "ENOTSUP", "EBADF"]);

/** Prefix of the temporary files, e.g. `.model.json.tmp-1234-9f8e7d6c` (1234: the writer's PID). */
export function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/** A temporary file older than this is stale whatever its PID says (the PID may have been reused). */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Removes the temporary files that killed writers of `path` left behind: only names of exactly the
 * writer's form for this target (`tempPrefix(path)`, a PID, "-", 8 hex digits), only regular files,
 * and only when that PID is not a running process or the file was last written over
 * `STALE_TEMP_MS` ago. Best effort: a file that cannot be listed, examined or removed is left alone.
 * Returns the paths removed. `writeFileAtomic` calls it before every save.
 */
export function removeStaleTemps(path: string, fs: AtomicFs = NODE_FS, now = Date.now()): string[] {
  const target = resolve(path);
  const folder = dirname(target);
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = fs.readdirSync ? fs.readdirSync(folder) : nodeFs.readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d{1,10})-[0-9a-f]{8}$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const file = join(folder, name);
    try {
      const info = fs.lstatSync ? fs.lstatSync(file) : nodeFs.lstatSync(file);
      if (!info.isFile()) continue;
      if (processAlive(Number(m[1])) && now - info.mtimeMs <= STALE_TEMP_MS) continue;
      fs.unlinkSync(file);
      removed.push(file);
    } catch {
      // Gone already (another writer cleaned it), or not ours to remove: leave it.
    }
  }
  return removed;
}

/**
 * Whether a process with this PID is running on this host. A killed process not yet reaped (a zombie)
 * is not: its parent may be blocked in a synchronous call and reap it only later. Signal 0 checks
 * without sending; EPERM means it exists but is not ours.
 */
export function processAlive(pid: number): boolean {
  // 0 and negative numbers address process groups in kill(2): never "dead", never signalled.
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x7fffffff) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return errorCode(e) !== "ESRCH";
  }
  try {
    // Linux: the state is the field after the parenthesised command name.
    const stat = nodeFs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z";
  } catch {
    return true; // no /proc (or it vanished meanwhile): trust kill(0)
  }
}

/**
 * Replaces `path` with `data` atomically. On any failure the temporary file is removed, the old
 * file (if any) is left untouched, and a SparsewireError with code "io" says which step failed.
 * `verify`, if given, reads the complete, synced temporary file before the rename (read after
 * write: model files are loaded back and compared); if it throws, the save fails the same way.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, fs: AtomicFs = NODE_FS, verify?: (tempPath: string) => void): void {
  const target = resolve(path);
  const folder = dirname(target);
  const temp = join(folder, `${tempPrefix(target)}${process.pid}-${randomBytes(4).toString("hex")}`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  // Killed earlier saves of this target must not pile up full-size hidden copies (issue 14).
  removeStaleTemps(target, fs);

  let fd: number | undefined;
  try {
    try {
      fd = fs.openSync(temp, "wx", 0o666); // "wx": never reuse someone else's file
    } catch (e) {
      throw ioError(e, openProblem(e, path, folder));
    }
    try {
      for (let offset = 0; offset < bytes.length; ) {
        const written = fs.writeSync(fd, bytes, offset, Math.min(CHUNK, bytes.length - offset));
        if (!(written > 0)) throw new Error(`write returned ${written}`);
        offset += written;
      }
      fs.fsyncSync(fd);
    } catch (e) {
      throw ioError(e, `cannot save ${path}: writing the temporary file failed (${describe(e)}); the previous file is unchanged`);
    }
    const closing = fd;
    fd = undefined;
    try {
      fs.closeSync(closing);
    } catch (e) {
      throw ioError(e, `cannot save ${path}: closing the temporary file failed (${describe(e)}); the previous file is unchanged`);
    }
    if (verify) {
      try {
        verify(temp);
      } catch (e) {
        throw ioError(e, `cannot save ${path}: reading the written file back failed (${describe(e)}); the previous file is unchanged`);
      }
    }
    try {
      fs.renameSync(temp, target);
    } catch (e) {
      const code = errorCode(e);
      const why = code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST" ? `${path} is a folder` : describe(e);
      throw ioError(e, `cannot save ${path}: replacing it failed (${why}); the previous file is unchanged`);
    }
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
    try {
      fs.unlinkSync(temp);
    } catch {
      // Not created, or already renamed: nothing to clean.
    }
    throw e;
  }
  syncFolder(folder, fs, path);
}

/** Makes the rename itself durable. Best effort where the platform cannot fsync a folder. */
function syncFolder(folder: string, fs: AtomicFs, path: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(folder, "r");
    fs.fsyncSync(fd);
  } catch (e) {
    const code = errorCode(e);
    if (code === undefined || !DIR_SYNC_UNSUPPORTED.has(code)) {
      throw ioError(e, `saved ${path}, but syncing its folder ${folder} failed (${describe(e)}): the new file may not survive a power loss`);
    }
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // A failed close of a read-only folder handle loses nothing.
      }
    }
  }
}

function openProblem(e: unknown, path: string, folder: string): string {
  switch (errorCode(e)) {
    case "ENOENT":
      return `cannot save ${path}: folder ${folder} does not exist`;
    case "ENOTDIR":
      return `cannot save ${path}: ${folder} is not a folder`;
    // The target may exist: say that it was not touched, as every later step does.
    case "EACCES":
    case "EPERM":
      return `cannot save ${path}: no permission to create files in ${folder}; the previous file is unchanged`;
    case "EROFS":
      return `cannot save ${path}: ${folder} is on a read-only file system; the previous file is unchanged`;
    default:
      return `cannot save ${path}: creating a temporary file in ${folder} failed (${describe(e)}); the previous file is unchanged`;
  }
}

function errorCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") return e.code;
  return undefined;
}

function describe(e: unknown): string {
  const code = errorCode(e);
  if (code === "ENOSPC") return "the disk is full";
  if (code === "EDQUOT") return "disk quota exceeded";
  const message = e instanceof Error ? e.message : String(e);
  return code !== undefined && !message.startsWith(code) ? `${code}: ${message}` : message;
}

function ioError(cause: unknown, message: string): SparsewireError {
  if (cause instanceof SparsewireError) return cause;
  const error = new SparsewireError("io", message);
  error.cause = cause;
  return error;
}
