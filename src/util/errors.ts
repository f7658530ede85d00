/**
 * Errors are data (after zod): every error carries a `code` from a closed union so that callers
 * branch on the code, never on the message text. The CLI prints `message` (and `hint` when set)
 * as one line; the stack only with --debug.
 */

/** The closed set of error kinds; branch on `error.code`, never on the message. */
export type ErrorCode =
  | "graph" // not a valid network (Def. 3.14): cycle, duplicate edge, bad index, …
  | "shape" // wrong dimensions between network, batch and task
  | "model-file" // malformed, truncated or invalid model file
  | "data" // empty or too short corpus, unreadable text
  | "usage" // bad command-line flag or API option
  | "numeric" // NaN / Inf loss or parameters during training
  | "io" // file system failure
  | "engine"; // engine not available (e.g. no WebAssembly SIMD)

/**
 * Every error sparsewire throws on purpose: a one-line `message` naming the bad value, a `code`, an
 * optional `hint` with the fix, and the API `settings` it names. The CLI prints message and hint.
 */
export class SparsewireError extends Error {
  readonly code: ErrorCode;
  /** One line saying how to fix it, or undefined. */
  readonly hint: string | undefined;
  /**
   * The API settings the message names, each written in backticks in the message and hint
   * (`rewire.every`, `optimizer.learningRate`): a front end shows its own names for them (the CLI
   * its flags, cli/setting-flags.ts). Empty when the error is not about a setting.
   */
  readonly settings: readonly string[];
  constructor(code: ErrorCode, message: string, hint?: string, settings: readonly string[] = []) {
    super(message);
    this.name = "SparsewireError";
    this.code = code;
    this.hint = hint;
    this.settings = settings;
  }
}

/** Code "graph": not a valid network (Def. 3.14): a cycle, duplicate edge, self-loop, bad index or non-finite value. */
export class GraphError extends SparsewireError {
  constructor(message: string, hint?: string, settings: readonly string[] = []) {
    super("graph", message, hint, settings);
    this.name = "GraphError";
  }
}
/** Code "shape": sizes that do not fit together (network, batch, task, buffers). */
export class ShapeError extends SparsewireError {
  constructor(message: string, hint?: string, settings: readonly string[] = []) {
    super("shape", message, hint, settings);
    this.name = "ShapeError";
  }
}
/** Code "model-file": a model file that is malformed, truncated or not a valid network, or a network that cannot be saved. */
export class ModelFileError extends SparsewireError {
  constructor(message: string, hint?: string, settings: readonly string[] = []) {
    super("model-file", message, hint, settings);
    this.name = "ModelFileError";
  }
}
/** Code "data": a data set that is missing, unreadable, empty or too short. */
export class DataError extends SparsewireError {
  constructor(message: string, hint?: string, settings: readonly string[] = []) {
    super("data", message, hint, settings);
    this.name = "DataError";
  }
}
/** Code "usage": a bad option or flag value; the CLI exits with status 2 for these (1 for the others). */
export class UsageError extends SparsewireError {
  constructor(message: string, hint?: string, settings: readonly string[] = []) {
    super("usage", message, hint, settings);
    this.name = "UsageError";
  }
}
/** Code "numeric": a NaN, infinite or diverging loss during training; the message says where (step, batch). */
export class NumericError extends SparsewireError {
  constructor(message: string, hint?: string, settings: readonly string[] = []) {
    super("numeric", message, hint, settings);
    this.name = "NumericError";
  }
}

/**
 * A bad value of an API setting: "`setting` problem", the setting recorded for front ends. Setting
 * names in messages are always in backticks (`others` too, written so in `problem` or `hint`), so a
 * front end can show its own names for them (cli/setting-flags.ts) without mistaking plain words.
 */
export function settingError(setting: string, problem: string, hint?: string, others: readonly string[] = []): UsageError {
  return new UsageError(`\`${setting}\` ${problem}`, hint, [setting, ...others]);
}
