/** One training run (src/run/): settings in, events out, a result at the end. Browser-safe. */
export * from "./settings.js";
export * from "./run.js";
