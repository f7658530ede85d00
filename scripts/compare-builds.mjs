// What the timing scripts that compare builds of sparsewire in one process share (lsh-timing.mjs,
// descendant-timing.mjs): flags, loading the same modules from each build's dist/, the machine line,
// and interleaved repeats (each repeat starts with the next build, so a noisy neighbour slows all alike).
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);

/** The value after `--name` on the command line, or `fallback`. */
export function flag(name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
}

/** For each build folder (--dist a,b,…; default dist), its modules `files` ({ name: "src/….js" }) and `dist`. */
export async function loadBuilds(files) {
  const builds = [];
  for (const dist of flag("dist", "dist").split(",").map((d) => path.resolve(d))) {
    const entries = await Promise.all(Object.entries(files).map(async ([name, file]) => [name, await import(pathToFileURL(path.join(dist, file)).href)]));
    builds.push({ dist, label: path.relative(process.cwd(), dist) || ".", ...Object.fromEntries(entries) });
  }
  return builds;
}

export const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
export const machine = () => `${os.cpus()[0]?.model ?? "?"} · ${os.cpus().length} cores · node ${process.version} · load average ${loadAverage()}`;
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `repeats` rounds of every run's `run()`, the starting run rotating; milliseconds into each run's `times`. */
export function timeInterleaved(runs, repeats) {
  for (let rep = 0; rep < repeats; rep++) {
    for (let i = 0; i < runs.length; i++) {
      const r = runs[(rep + i) % runs.length];
      const t0 = performance.now();
      r.run();
      r.times.push(performance.now() - t0);
    }
  }
}
