/**
 * Errors are data (after zod): every error carries a `code` from a closed union so that callers
 * branch on the code, never on the message text. The CLI prints `message` (and `hint` when set)
 * as one line; the stack only with --debug.
 */
export type ErrorCode =
  | "graph" // not a valid network (Def. 3.14): cycle, duplicate edge, bad index, …
  | "shape" // wrong dimensions between network, batch and task
  | "model-file" // malformed, truncated or invalid model file
  | "data" // empty or too short corpus, unreadable text
  | "usage" // bad command-line flag or API option
  | "numeric" // NaN / Inf loss or parameters during training
  | "io" // file system failure
  | "engine"; // engine not available (e.g. no WebAssembly SIMD)

export class SparsewireError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = "SparsewireError";
    this.code = code;
    this.hint = hint;
  }
}

export class GraphError extends SparsewireError {
  constructor(message: string, hint?: string) {
    super("graph", message, hint);
    this.name = "GraphError";
  }
}
export class ShapeError extends SparsewireError {
  constructor(message: string, hint?: string) {
    super("shape", message, hint);
    this.name = "ShapeError";
  }
}
export class ModelFileError extends SparsewireError {
  constructor(message: string, hint?: string) {
    super("model-file", message, hint);
    this.name = "ModelFileError";
  }
}
export class DataError extends SparsewireError {
  constructor(message: string, hint?: string) {
    super("data", message, hint);
    this.name = "DataError";
  }
}
export class UsageError extends SparsewireError {
  constructor(message: string, hint?: string) {
    super("usage", message, hint);
    this.name = "UsageError";
  }
}
export class NumericError extends SparsewireError {
  constructor(message: string, hint?: string) {
    super("numeric", message, hint);
    this.name = "NumericError";
  }
}
