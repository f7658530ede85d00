#!/usr/bin/env node
// Builds the WebAssembly kernels with the AssemblyScript compiler from npm:
//   dist/wasm/sparsewire.wasm          assembly/index.ts, plain imported memory: one thread, works everywhere (no SharedArrayBuffer)
//   dist/wasm/sparsewire-threads.wasm  assembly/index.ts, shared imported memory (threads feature): workers share one memory
//   dist/wasm/sparsewire-fma.wasm, sparsewire-fma-threads.wasm: the same two with relaxed SIMD (fused multiply-add; engine tuning `fma`)
//   dist/wasm/sparsewire-search.wasm   assembly/search.ts, plain imported memory: the candidate searches' filters (src/engine/wasm/exact-search.ts, candidate-scoring.ts)
// All need WebAssembly SIMD (v128). Nothing here downloads anything; `npm ci` installs assemblyscript.
// usage: node scripts/build-wasm.mjs [--wat]   (--wat also writes the text format next to each binary)
import asc from "assemblyscript/asc";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "wasm");
const wat = process.argv.includes("--wat");
await mkdir(outDir, { recursive: true });

// 65536 pages = 4 GiB, the wasm32 limit; the memory starts small and grows with the network and batch.
const common = [
  "--config", path.join(root, "assembly", "asconfig.json"),
  "--target", "release",
  "--runtime", "stub",
  "--importMemory",
  "--noExportMemory",
  "--maximumMemory", "65536",
  "--enable", "simd",
  "--noAssert",
];
const engine = path.join(root, "assembly", "index.ts");
const search = path.join(root, "assembly", "search.ts");
const builds = [
  { name: "sparsewire", entry: engine, flags: [] },
  { name: "sparsewire-threads", entry: engine, flags: ["--sharedMemory", "--enable", "threads"] },
  // The same kernels with fused multiply-adds (assembly/index.ts madd; engine tuning `fma`).
  { name: "sparsewire-fma", entry: engine, flags: ["--enable", "relaxed-simd"] },
  { name: "sparsewire-fma-threads", entry: engine, flags: ["--sharedMemory", "--enable", "threads", "--enable", "relaxed-simd"] },
  { name: "sparsewire-search", entry: search, flags: [] },
];
for (const b of builds) {
  const outFile = path.join(outDir, `${b.name}.wasm`);
  const args = [b.entry, ...common, ...b.flags, "--outFile", outFile];
  if (wat) args.push("--textFile", path.join(outDir, `${b.name}.wat`));
  const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`build-wasm: ${b.name} failed: ${error.message}`);
    console.error(stderr.toString());
    process.exit(1);
  }
  console.log(`build-wasm: wrote ${path.relative(root, outFile)}`);
}
