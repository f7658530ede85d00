/**
 * The reference engine's public surface. Besides the engine itself, its plain kernels are exported
 * on purpose (as tfjs's CPU backend exports its `*Impl`s): the estimates (src/estimate/) run them in
 * float64 as the oracle for utilities, curvature and sensitivity, which no fast engine computes.
 * Code outside src/engine/ reaches the reference engine only through this file.
 *
 * @module
 */
export { ReferenceEngine, checkBatch } from "./engine.js";
export {
  allocateWorkspace, backward, float64Parameters, forward, loadInputs, loss, outputsOf, workspaceCache,
  type FloatArray, type Graph, type Parameters, type Workspace,
} from "./kernels.js";
