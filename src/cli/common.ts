/** Pieces shared by the commands: engine flags, corpus loading, JSON output. */
import { availableParallelism } from "node:os";
import { createEngine } from "../engine/create.js";
import type { Engine, EngineName, OptimizerConfig } from "../engine/types.js";
import type { Network } from "../graph/network.js";
import { bundledCorpusPath, readTextCorpus } from "../data/files.js";
import type { FlagSpec, Flags } from "./args.js";

export const ENGINE_FLAGS: FlagSpec[] = [
  { name: "engine", type: "string", default: "wasm", choices: ["wasm", "reference"], help: "compute engine: WebAssembly SIMD on all cores, or the plain TypeScript reference" },
  { name: "threads", type: "int", min: 1, max: 256, value: "N", help: "worker threads for the wasm engine (default: all cores)" },
];

export async function engineFromFlags(flags: Flags, network: Network, optimizer?: OptimizerConfig): Promise<Engine> {
  const name = flags.string("engine") as EngineName;
  const threads = flags.optionalNumber("threads") ?? (name === "wasm" ? availableParallelism() : 1);
  return createEngine(name, network, optimizer ? { optimizer, threads } : { threads });
}

export interface LoadedText {
  symbols: Uint8Array;
  path: string;
  bundled: boolean;
}

export async function loadText(path: string | undefined): Promise<LoadedText> {
  const bundled = path === undefined;
  const file = path ?? bundledCorpusPath();
  const corpus = await readTextCorpus(file);
  return { symbols: corpus.symbols, path: file, bundled };
}

/** Print one JSON object as the last line of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
