#!/usr/bin/env node
// Installs the system packages the test suite needs and npm cannot provide: Debian's chromium (the
// browser test drives it with playwright-core) and python3-torch (an independent autograd to check
// our gradients against). Idempotent: does nothing when both are present.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const haveChromium = existsSync("/usr/bin/chromium");
const haveTorch = spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const missing = [...(haveChromium ? [] : ["chromium"]), ...(haveTorch ? [] : ["python3-torch"])];
if (missing.length === 0) process.exit(0);
const isRoot = process.getuid?.() === 0;
const apt = isRoot ? ["apt-get"] : ["sudo", "-n", "apt-get"];
console.error(`system-deps: installing ${missing.join(", ")} with apt-get (needed by the test suite)`);
try {
  execFileSync(apt[0], [...apt.slice(1), "update", "-qq"], { stdio: "inherit" });
  execFileSync(apt[0], [...apt.slice(1), "install", "-y", "-qq", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
} catch {
  console.error(`system-deps: could not install ${missing.join(", ")}; install them with: sudo apt-get install ${missing.join(" ")}`);
  process.exit(1);
}
