/** Compression (thesis §4.2): quantisation and pruning guided by estimated loss change. Browser-safe. */
export * from "./quantize.js";
export * from "./prune.js";
export * from "./gradual.js";
