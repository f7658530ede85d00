/** Running the built `sparsewire` command in tests, and checking what experiments write. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const cli = join(root, "dist/src/cli/main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** A runner whose processes start in a fresh temporary folder (returned as `work`). */
export function cliRunner(prefix: string, timeout = 240_000): { work: string; run: (args: string[]) => CliResult } {
  const work = mkdtempSync(join(tmpdir(), prefix));
  return {
    work,
    run(args) {
      const started = performance.now();
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout, cwd: work });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - started) / 1000 };
    },
  };
}

export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

/** A figure an experiment wrote: its Vega-Lite spec parses, the SVG is drawn, the PNG is a PNG. */
export function checkFigure(out: string, name: string): void {
  const svg = join(out, `${name}.svg`);
  assert.ok(existsSync(svg), `${svg} exists`);
  const text = readFileSync(svg, "utf8");
  assert.ok(text.startsWith("<svg") && text.length > 2000 && /<path/.test(text), `${name}.svg is a drawn figure`);
  JSON.parse(readFileSync(join(out, `${name}.vl.json`), "utf8"));
  const png = join(out, `${name}.png`);
  assert.ok(existsSync(png) && statSync(png).size > 5000, `${name}.png rendered`);
  assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47], "PNG signature");
}
