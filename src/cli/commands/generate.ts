/** `sparsewire generate`: sample text from a trained character model (issue 13 item 1). */
import { cleanText, decodeSymbols } from "../../data/text.js";
import { loadNetwork } from "../../io/model-file.js";
import { generateText } from "../../train/generate.js";
import { checkTextNetwork, contextOf } from "../../train/text.js";
import { Rng } from "../../util/rng.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { ENGINE_FLAGS, engineFromFlags, printJson, round } from "../common.js";

export const generateSpec: CommandSpec = {
  name: "generate",
  summary: "sample text from a trained character model, one symbol at a time",
  usage: "sparsewire generate --model PATH [--prompt TEXT] [--length N] [--temperature T] [--top-k K] [--samples S] [--seed S] [--json]",
  flags: [
    { name: "model", type: "string", value: "PATH", help: "trained next-symbol model (.json or .safetensors)" },
    { name: "prompt", type: "string", value: "TEXT", help: "text to continue, cleaned like the corpus (lowercase a–z and space; other characters dropped, and the command says so)" },
    { name: "length", type: "int", default: 200, min: 0, max: 1_000_000, value: "N", help: "symbols to generate per sample" },
    { name: "temperature", type: "number", default: 1, min: 0, value: "T", help: "1 = the model's distribution, lower = sharper, 0 = greedy (always the most likely)" },
    { name: "top-k", type: "int", default: 0, min: 0, value: "K", help: "sample among the K most likely symbols only (0 = all 27)" },
    { name: "samples", type: "int", default: 1, min: 1, max: 4096, value: "S", help: "independent samples, generated side by side in one batched forward pass per symbol" },
    { name: "seed", type: "int", default: 1, min: 0, max: 0xffffffff, value: "S", help: "random seed (same seed, same text)" },
    ...ENGINE_FLAGS,
    { name: "json", type: "boolean", help: "print one JSON object as the last line of stdout" },
  ],
  examples: [
    'sparsewire generate --model model.safetensors --prompt "the history of" --length 300 --temperature 0.8',
    "sparsewire generate --model model.safetensors --temperature 0 --length 100 --json",
  ],
};

export async function generateCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(generateSpec) + "\n");
    return 0;
  }
  const flags = parseFlags(generateSpec, argv);
  const modelPath = flags.requireString("model");
  const network = loadNetwork(modelPath);
  const context = contextOf(network);
  checkTextNetwork(network, context);
  const raw = flags.string("prompt") ?? "";
  const prompt = cleanText(raw);
  const cleaned = decodeSymbols(prompt);
  const changed = cleaned !== raw;
  const json = flags.boolean("json");
  if (changed && raw !== "" && !json) process.stderr.write(`sparsewire: the prompt was cleaned to the model's 27 symbols: "${cleaned}"\n`);
  const engine = await engineFromFlags(flags, network);
  try {
    const started = performance.now();
    const length = flags.number("length");
    const samples = generateText(engine, prompt, { length, temperature: flags.number("temperature"), topK: flags.number("top-k"), samples: flags.number("samples"), rng: new Rng(flags.number("seed")) });
    const seconds = (performance.now() - started) / 1000;
    const texts = samples.map((s) => decodeSymbols(s));
    const perSecond = (length * samples.length) / Math.max(seconds, 1e-9);
    if (json) {
      printJson({ model: modelPath, prompt: cleaned, promptCleaned: changed, length, temperature: flags.number("temperature"), topK: flags.number("top-k"), seed: flags.number("seed"), samples: texts, seconds: round(seconds, 3), charactersPerSecond: round(perSecond, 1), engine: engine.name });
    } else {
      process.stdout.write(texts.join("\n\n") + "\n");
      process.stderr.write(`generated ${(length * samples.length).toLocaleString("en")} characters in ${seconds.toFixed(2)} s (${perSecond.toFixed(0)} characters/s, ${samples.length} sample${samples.length === 1 ? "" : "s"})\n`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
