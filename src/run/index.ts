/** One training run (src/run/): settings in, events out, a result at the end. Browser-safe. */
export * from "./settings.js";
export * from "./run.js";
export { encodeCheckpoint, decodeCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type LoadedCheckpoint } from "./checkpoint.js";
