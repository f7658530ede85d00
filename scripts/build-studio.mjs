#!/usr/bin/env node
// Builds the studio page (issue 13) into dist/studio/, a folder any static host can serve:
//   index.html, studio.css      copied from src/studio/
//   studio.js                   src/studio/page.ts bundled by esbuild (the UI, vega-embed; no engine code)
//   lib/src/**.js, lib/wasm/    the compiled library as unbundled ES modules (the trainer worker
//                               lib/src/studio/worker.js, the engine, its own workers) and the wasm kernels:
//                               the engine finds them by import.meta.url, so they keep dist/'s layout
//   data/text8-excerpt.txt.gz   the bundled training text
// Needs `npm run build:wasm` and `npm run build:ts` first (npm run build runs all three). The folder is
// built beside the target and renamed over it, so a server never sees half a build.
// usage: node scripts/build-studio.mjs [--out DIR]
import { build } from "esbuild";
import { cp, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outArg = process.argv.indexOf("--out");
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(root, "dist", "studio");
const temp = `${out}.building-${process.pid}`;

for (const needed of ["dist/src/studio/worker.js", "dist/wasm/sparsewire.wasm"]) {
  try {
    await stat(path.join(root, needed));
  } catch {
    console.error(`build-studio: ${needed} is missing: run npm run build:wasm and npm run build:ts first`);
    process.exit(1);
  }
}

await rm(temp, { recursive: true, force: true });
await mkdir(temp, { recursive: true });
const result = await build({
  entryPoints: [path.join(root, "src", "studio", "page.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  outfile: path.join(temp, "studio.js"),
  logLevel: "warning",
  metafile: true,
});
for (const file of ["index.html", "studio.css"]) await cp(path.join(root, "src", "studio", file), path.join(temp, file));
// The library's compiled modules, without type declarations and source maps of the tests.
await cp(path.join(root, "dist", "src"), path.join(temp, "lib", "src"), { recursive: true, filter: (src) => !src.endsWith(".d.ts") && !src.endsWith(".d.ts.map") });
await cp(path.join(root, "dist", "wasm"), path.join(temp, "lib", "wasm"), { recursive: true, filter: (src) => !src.endsWith(".wat") });
await mkdir(path.join(temp, "data"), { recursive: true });
await cp(path.join(root, "data", "text8-excerpt.txt.gz"), path.join(temp, "data", "text8-excerpt.txt.gz"));
await rm(out, { recursive: true, force: true });
await rename(temp, out);
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
const files = (await readdir(out, { recursive: true })).length;
console.log(`build-studio: ${path.relative(root, out)}/ (${files} files; page bundle ${(bytes / 1024).toFixed(0)} KiB with its source map)`);
