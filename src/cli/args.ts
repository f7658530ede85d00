/**
 * A small, strict flag parser: every command declares its flags once (name, type, default, help);
 * unknown flags, missing values, stray arguments and malformed numbers are refused by name.
 */
import { UsageError } from "../util/errors.js";

export type FlagType = "string" | "int" | "number" | "boolean";

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  default?: string | number | boolean;
  /** Placeholder in help, e.g. PATH. */
  value?: string;
  min?: number;
  max?: number;
  /** Numbers must be greater than 0 (a rate of 0 would not train). */
  positive?: boolean;
  /** Allowed values for string flags. */
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  examples?: string[];
}

export class Flags {
  constructor(
    private readonly command: string,
    private readonly values: Map<string, string | number | boolean>,
    private readonly givenNames: ReadonlySet<string> = new Set(),
  ) {}
  /** Has a value: given on the command line, or a default. */
  has(name: string): boolean {
    return this.values.has(name);
  }
  /** Given on the command line (not only a default). */
  given(name: string): boolean {
    return this.givenNames.has(name);
  }
  /** The same flags with `names` treated as not given (a flag two features share, given to one of them). */
  without(names: readonly string[]): Flags {
    const values = new Map(this.values);
    const given = new Set(this.givenNames);
    for (const n of names) {
      values.delete(n);
      given.delete(n);
    }
    return new Flags(this.command, values, given);
  }
  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === "string" ? v : undefined;
  }
  requireString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`${this.command} needs --${name}`, `run "sparsewire ${this.command} --help" for the flags`);
    return v;
  }
  number(name: string): number {
    const v = this.values.get(name);
    if (typeof v !== "number") throw new Error(`flag --${name} has no numeric value`);
    return v;
  }
  optionalNumber(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === "number" ? v : undefined;
  }
  boolean(name: string): boolean {
    return this.values.get(name) === true;
  }
  /** Every value (given or default) and the names given, JSON-safe (a checkpoint stores its run's flags). */
  toRecord(): FlagsRecord {
    return { values: Object.fromEntries(this.values), given: [...this.givenNames] };
  }
  /**
   * A resumed run's flags: the stored ones, with `overridable` flags given now taking their new
   * value. Any other flag given now must equal the stored value, else the run would change its
   * meaning: refused, naming the flag.
   */
  resumedFrom(stored: FlagsRecord, overridable: readonly string[], what: string): Flags {
    const values = new Map<string, string | number | boolean>(Object.entries(stored.values));
    const given = new Set(stored.given);
    for (const name of this.givenNames) {
      const now = this.values.get(name);
      if (overridable.includes(name)) {
        if (now === undefined) values.delete(name);
        else values.set(name, now);
        given.add(name);
      } else if (values.get(name) !== now) {
        const before = values.has(name) ? String(values.get(name)) : "not given";
        throw new UsageError(`--${name} ${String(now)} differs from the run in ${what} (${before}): a resumed run keeps the settings it started with`, `leave --${name} out; only ${overridable.map((o) => `--${o}`).join(", ")} may change on resume`);
      }
    }
    return new Flags(this.command, values, given);
  }
}

/** `Flags.toRecord`'s result. */
export interface FlagsRecord {
  values: Record<string, string | number | boolean>;
  given: string[];
}

export function parseFlags(spec: CommandSpec, argv: readonly string[]): Flags {
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const values = new Map<string, string | number | boolean>();
  for (const f of spec.flags) if (f.default !== undefined) values.set(f.name, f.default);
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      throw new UsageError(`unexpected argument "${arg}" for "sparsewire ${spec.name}"`, `flags start with --; run "sparsewire ${spec.name} --help"`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = byName.get(name);
    if (!flag) {
      throw new UsageError(`unknown flag --${name} for "sparsewire ${spec.name}"`, `run "sparsewire ${spec.name} --help" for the flags`);
    }
    if (seen.has(name)) throw new UsageError(`flag --${name} given twice`);
    seen.add(name);
    if (flag.type === "boolean") {
      if (eq >= 0) {
        const text = arg.slice(eq + 1);
        if (text !== "true" && text !== "false") throw new UsageError(`--${name} is a switch: use --${name} or --${name}=false, not "${text}"`);
        values.set(name, text === "true");
      } else values.set(name, true);
      continue;
    }
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`--${name} needs a value (${flag.value ?? flag.type})`);
      text = next;
      i++;
    }
    values.set(name, convert(flag, text));
  }
  return new Flags(spec.name, values, seen);
}

function convert(flag: FlagSpec, text: string): string | number {
  if (flag.type === "string") {
    if (text === "") throw new UsageError(`--${flag.name} needs a non-empty value`);
    if (flag.choices && !flag.choices.includes(text)) {
      throw new UsageError(`--${flag.name} must be one of ${flag.choices.join(", ")}; got "${text}"`);
    }
    return text;
  }
  const value = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`--${flag.name} expects a number, got "${text}"`);
  if (flag.type === "int" && !Number.isInteger(value)) throw new UsageError(`--${flag.name} expects an integer, got "${text}"`);
  if (flag.positive === true && !(value > 0)) throw new UsageError(`--${flag.name} must be greater than 0, got ${text}`);
  if (flag.min !== undefined && value < flag.min) throw new UsageError(`--${flag.name} must be at least ${flag.min}, got ${text}`);
  if (flag.max !== undefined && value > flag.max) throw new UsageError(`--${flag.name} must be at most ${flag.max}, got ${text}`);
  return value;
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`sparsewire ${spec.name}: ${spec.summary}`, "", `usage: ${spec.usage}`, "", "flags:"];
  const left = spec.flags.map((f) => `  --${f.name}${f.type === "boolean" ? "" : ` ${f.value ?? f.type.toUpperCase()}`}`);
  const width = Math.max(...left.map((s) => s.length)) + 2;
  spec.flags.forEach((f, i) => {
    const def = f.default !== undefined && f.type !== "boolean" ? ` (default: ${f.default})` : "";
    lines.push(`${left[i]!.padEnd(width)}${f.help}${def}`);
  });
  lines.push(`  --help`.padEnd(width) + "show this help");
  if (spec.examples?.length) lines.push("", "examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}
