#!/usr/bin/env node
/**
 * The `sparsewire` command. The only code that prints or exits: a user mistake becomes one line
 * "sparsewire: error: …" (plus a hint) and a non-zero exit, never a stack trace (unless --debug).
 */
import { withFlags } from "./setting-flags.js";
import { readFileSync } from "node:fs";
import { SparsewireError } from "../util/errors.js";
import { evalCommand } from "./commands/eval.js";
import { infoCommand } from "./commands/info.js";
import { trainCommand } from "./commands/train.js";
import { utilityCommand } from "./commands/utility.js";
import { pruneCommand } from "./commands/prune.js";
import { quantizeCommand } from "./commands/quantize.js";
import { experimentCommand } from "./commands/experiment.js";
import { generateCommand } from "./commands/generate.js";
import { studioCommand } from "./commands/studio.js";

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<number>; summary: string }> = {
  train: { run: trainCommand, summary: "train a sparse network on character prediction" },
  eval: { run: evalCommand, summary: "bits per symbol of a saved model on a text (and gradients)" },
  info: { run: infoCommand, summary: "describe a model file" },
  generate: { run: generateCommand, summary: "sample text from a trained character model" },
  prune: { run: pruneCommand, summary: "prune to a smaller fixed in-degree by utility (§4.1)" },
  quantize: { run: quantizeCommand, summary: "quantise weights to 2..8 bits by utility, mse or max (§4.2)" },
  experiment: { run: experimentCommand, summary: "reproduce a thesis figure or compare rewiring methods (sparsity, rewiring, versus, …)" },
  studio: { run: studioCommand, summary: "watch a network train and rewire in the browser; open model files; let a model write" },
  utility: { run: utilityCommand, summary: "per-edge utility: first-order, magnitude, OBD or true (§4.1)" },
};

function usage(): string {
  return [
    "sparsewire: truly sparse neural networks whose graph is a general DAG (van Asseldonk 2017)",
    "",
    "usage: sparsewire <command> [flags]     (sparsewire <command> --help for its flags)",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(11)}${c.summary}`),
    "",
    "global flags: --debug (show stack traces), --version",
  ].join("\n");
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const args = argv.filter((a) => a !== "--debug");
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      process.stdout.write(usage() + "\n");
      return command === undefined ? 2 : 0;
    }
    if (command === "--version" || command === "-v") {
      process.stdout.write(version() + "\n");
      return 0;
    }
    const entry = COMMANDS[command];
    if (!entry) {
      process.stderr.write(`sparsewire: error: unknown command "${command}"\nhint: commands are ${Object.keys(COMMANDS).join(", ")}; run "sparsewire --help"\n`);
      return 2;
    }
    return await entry.run(rest);
  } catch (error) {
    if (error instanceof SparsewireError) {
      const { message, hint } = withFlags(error);
      process.stderr.write(`\nsparsewire: error: ${message}\n`.replace(/^\n/, ""));
      if (hint) process.stderr.write(`hint: ${hint}\n`);
      if (debug) process.stderr.write(`${error.stack}\n`);
      return error.code === "usage" ? 2 : 1;
    }
    const e = error as NodeJS.ErrnoException;
    if (typeof e?.code === "string" && typeof e.syscall === "string") {
      // A file-system failure (permission, missing folder, disk full) is the user's to fix: one line.
      process.stderr.write(`sparsewire: error: ${e.message}\n`);
      if (debug) process.stderr.write(`${e.stack}\n`);
      return 1;
    }
    process.stderr.write(`sparsewire: internal error: ${e?.message ?? String(error)}\n`);
    process.stderr.write(debug ? `${e?.stack}\n` : "hint: run again with --debug for the stack trace, and please report it\n");
    return 70;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(70),
);
