/**
 * The flag that sets each library setting: library errors name settings (`rewire.every`), the CLI
 * shows its flags (`--rewire-every`). util/errors.ts records which settings a message names.
 */
import type { SparsewireError } from "../util/errors.js";

export const SETTING_FLAGS: Readonly<Record<string, string>> = {
  steps: "--steps",
  maxSeconds: "--minutes",
  batch: "--batch",
  inDegree: "--in-degree",
  bits: "--bits",
  "optimizer.learningRate": "--lr",
  "optimizer.momentum": "--momentum",
  "optimizer.clipNorm": "--clip-norm",
  "lrSchedule.kind": "--lr-schedule",
  "lrSchedule.warmup": "--warmup",
  "lrSchedule.final": "--lr-final",
  "rewire.every": "--rewire-every",
  "rewire.fraction": "--rewire-fraction",
  "rewire.schedule": "--rewire-schedule",
  "rewire.grace": "--rewire-grace",
  "rewire.count.threshold": "--rewire-threshold",
  "rewire.batches": "--rewire-batches",
  "prune.to": "--prune-to",
  "prune.by": "--prune-by",
  "prune.start": "--prune-start",
  "prune.end": "--prune-end",
  "prune.every": "--prune-every",
  "prune.batches": "--prune-batches",
};

/** The error's message and hint with every setting it names (in backticks) shown as its flag. */
export function withFlags(error: SparsewireError): { message: string; hint: string | undefined } {
  const render = (text: string): string => {
    for (const setting of error.settings) {
      const flag = SETTING_FLAGS[setting];
      if (flag !== undefined) text = text.split(`\`${setting}\``).join(flag);
    }
    return text;
  };
  return { message: render(error.message), hint: error.hint === undefined ? undefined : render(error.hint) };
}
