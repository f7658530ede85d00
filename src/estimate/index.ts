/**
 * Estimates of what an edge is worth and how the loss responds to weight changes (thesis §4.1–4.2):
 * eq. 4.3's first-order utility, magnitude, OBD, taylor, wanda, the true utility of Def. 4.1, the
 * Hessian diagonal, and the sensitivity that quantisation reads. Rewiring and compression both use
 * these; each is defined once, here. Browser-safe.
 *
 * The Hessian-diagonal kernels (hessian.ts) are not re-exported: they run on the reference engine's
 * workspace after its `forward`, which the public API does not expose. Reach them through
 * `estimateUtility(…, "obd", { hessian })` and `measureSensitivity(…, { curvature })`.
 *
 * @module
 */
export * from "./activity.js";
export * from "./utility.js";
export * from "./sums.js";
export * from "./true-utility.js";
export * from "./taylor.js";
export * from "./sensitivity.js";
