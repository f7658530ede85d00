#!/usr/bin/env node
/**
 * Regenerates the bundled default corpus data/text8-excerpt.txt.gz: the first 2,000,000 characters
 * of text8 (Matt Mahoney's cleaned Wikipedia text), gzip level 9 with no file name and mtime 0
 * (like `gzip -9 -n`). Reads the text8 prefix kept in ../shared/data (see its README for
 * provenance) as a stream and checks the payload checksum, so the excerpt is exactly reproducible.
 *
 * Usage: node scripts/make-bundled-corpus.mjs [source.gz] [output.gz]
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip, gzipSync, constants } from "node:zlib";

const CHARS = 2_000_000;
// sha256 of the first 2,000,000 characters of text8 (also stated in data/README.md).
const EXPECTED_PAYLOAD_SHA256 = "c5efa0d845f55b16210c179e813072f90c886c43d3e844543f48ac537ca8cb7b";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const source = resolve(process.argv[2] ?? resolve(repoRoot, "../shared/data/text8/text8.first-6877825-chars.gz"));
const output = resolve(process.argv[3] ?? resolve(repoRoot, "data/text8-excerpt.txt.gz"));

// Stream only as much of the source as is needed; text8 is ASCII, so characters = bytes.
const payload = Buffer.alloc(CHARS);
let filled = 0;
const stream = createReadStream(source).pipe(createGunzip());
for await (const chunk of stream) {
  const take = Math.min(chunk.length, CHARS - filled);
  chunk.copy(payload, filled, 0, take);
  filled += take;
  if (filled === CHARS) break;
}
stream.destroy();
if (filled !== CHARS) throw new Error(`${source} holds only ${filled} characters, need ${CHARS}`);
for (const byte of payload) {
  if (byte !== 0x20 && (byte < 0x61 || byte > 0x7a)) throw new Error(`${source} is not text8: byte 0x${byte.toString(16)}`);
}

const payloadSha = createHash("sha256").update(payload).digest("hex");
if (payloadSha !== EXPECTED_PAYLOAD_SHA256) {
  throw new Error(`payload sha256 ${payloadSha} differs from the expected ${EXPECTED_PAYLOAD_SHA256}`);
}

const gz = gzipSync(payload, { level: constants.Z_BEST_COMPRESSION });
// Node's gzip header has no name and mtime 0 already (as gzip -n); pin the OS byte to 3 (Unix) so
// the file is the same whichever platform runs this script.
gz[9] = 3;
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, gz);

const gzSha = createHash("sha256").update(gz).digest("hex");
console.log(`wrote ${output}`);
console.log(`  payload: ${CHARS} characters, sha256 ${payloadSha}`);
console.log(`  gzip:    ${gz.length} bytes, sha256 ${gzSha}`);
