/**
 * `sparsewire studio` as a user starts it: it listens on loopback (a free port with --port 0), prints
 * its address (one JSON line with --json), serves the page with the cross-origin isolation headers
 * (or without them, --isolation off), serves the --model file the page opens, refuses a missing model
 * in one line, and stops on Ctrl-C with exit 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliRunner } from "./cli-helpers.js";

const { work, run } = cliRunner("sparsewire-studio-cli-");

function startStudio(args: string[]): Promise<{ url: string; stop: () => Promise<{ code: number | null; stdout: string }> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "studio", "--port", "0", "--json", ...args], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<{ code: number | null; stdout: string }>((ok) => child.on("exit", (code) => ok({ code, stdout })));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ url: (JSON.parse(line) as { url: string }).url, stop: () => (child.kill("SIGINT"), exited) });
    });
    void exited.then(({ code }) => reject(new Error(`studio exited with ${code} before listening: ${stderr}`)));
  });
}

test("sparsewire studio: serves the page isolated on loopback, the --model file, stops on Ctrl-C", async () => {
  writeFileSync(join(work, "m.json"), "{}");
  const s = await startStudio(["--model", "m.json"]);
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(s.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    const html = await page.text();
    assert.match(html, /<meta name="sparsewire-model" content="\.\/model\/m\.json">/, "the page is told which model to open");
    assert.equal(await (await fetch(new URL("model/m.json", s.url))).text(), "{}");
    const wasm = await fetch(new URL("lib/wasm/sparsewire-threads.wasm", s.url));
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    assert.equal((await fetch(new URL("../../etc/passwd", s.url))).status, 404, "nothing outside the page's folder");
  } finally {
    const { code, stdout } = await s.stop();
    assert.equal(code, 0);
    assert.match(stdout, /sparsewire studio: stopped/);
  }
  const plain = await startStudio(["--isolation", "off"]);
  try {
    const page = await fetch(plain.url);
    assert.equal(page.headers.get("cross-origin-opener-policy"), null, "--isolation off sends no isolation headers");
  } finally {
    await plain.stop();
  }
  const bad = run(["studio", "--model", "missing.safetensors"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^sparsewire: error: model file missing\.safetensors does not exist\n$/);
});
