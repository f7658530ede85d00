/**
 * One allocator for WebAssembly memory: a bump arena over a `WebAssembly.Memory`. A caller lays out
 * its buffers with `take` (byte offsets, each at a 64-byte boundary: a cache line, and aligned for
 * any SIMD load), grows the memory once with `ensure`, then makes typed views. `reset` forgets every
 * allocation, so a search lays out its buffers afresh each time on memory that only grows (wasm
 * memory cannot shrink).
 *
 * What it is not: no free list and no per-buffer lifetime — everything taken lives until `reset`.
 * Views made before a grow are stale (the buffer is replaced), so make them after the last `ensure`.
 * The search kernels (search-kernels.ts, exact-search.ts, candidate-scoring.ts) use it; the engine's
 * layout (engine.ts) is the same pattern and is meant to move onto it: take everything on a memory
 * of one page, `ensure`, then instantiate on that memory.
 */
import { SparsewireError } from "../../util/errors.js";

export const WASM_PAGE_BYTES = 65536;
/** 4 GiB: the wasm32 limit. */
export const WASM_MAX_PAGES = 65536;
const ALIGN = 64;

/**
 * A byte layout without memory: `take` hands out 64-byte-aligned offsets from `base`, as WasmArena
 * does, for a caller that must know its whole layout before the memory exists (the engine sizes a
 * shared memory from it) or that lays out a region of a memory it manages (its per-batch buffers).
 */
export class ByteLayout {
  private end: number;
  constructor(base: number) {
    this.end = Math.ceil(base / ALIGN) * ALIGN;
  }
  /** Reserve `bytes` at the next 64-byte boundary; returns its byte offset. */
  take(bytes: number): number {
    const at = Math.ceil(this.end / ALIGN) * ALIGN;
    this.end = at + bytes;
    return at;
  }
  /** The first 64-byte boundary after everything taken (where a following region may start). */
  get top(): number {
    return Math.ceil(this.end / ALIGN) * ALIGN;
  }
}

export class WasmArena {
  readonly memory: WebAssembly.Memory;
  /** First byte the arena hands out (64-byte aligned); below it: static data, context blocks. */
  readonly base: number;
  private end: number;
  private readonly purpose: string;
  private readonly hint: string | undefined;

  /**
   * `purpose` and `hint` name the arena in the error thrown when a layout exceeds 4 GiB
   * ("<purpose> needs 4.20 GiB of WebAssembly memory, …").
   */
  constructor(memory: WebAssembly.Memory, base: number, purpose: string, hint?: string) {
    this.memory = memory;
    this.base = Math.ceil(base / ALIGN) * ALIGN;
    this.end = this.base;
    this.purpose = purpose;
    this.hint = hint;
  }

  /** Forget every allocation: the next `take` starts at `base` again. */
  reset(): void {
    this.end = this.base;
  }

  /** Reserve `bytes` at the next 64-byte boundary; returns its byte offset. Nothing grows until `ensure`. */
  take(bytes: number): number {
    const at = Math.ceil(this.end / ALIGN) * ALIGN;
    this.end = at + bytes;
    return at;
  }

  /** One past the last byte taken. */
  get top(): number {
    return this.end;
  }

  /** Grow the memory (by whole pages) to hold everything taken; returns its buffer. */
  ensure(): ArrayBuffer {
    const bytes = this.end;
    if (bytes > WASM_MAX_PAGES * WASM_PAGE_BYTES) {
      throw new SparsewireError("engine", `${this.purpose} needs ${(bytes / 2 ** 30).toFixed(2)} GiB of WebAssembly memory, more than the 4 GiB of wasm32`, this.hint);
    }
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
    return this.memory.buffer;
  }

  i32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, length);
  }

  f32(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }

  f64(at: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, at, length);
  }
}
