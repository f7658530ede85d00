/**
 * sparsewire's public API, browser-safe: nothing here imports a Node built-in. The Node entry
 * (`src/node.ts`, the package's default export) adds files, model saving and threads.
 */
export { Network, transpose, type Task, type NetworkArrays, type RandomNetworkOptions, type Consumers } from "./graph/network.js";
export { Rng } from "./util/rng.js";
export {
  SparsewireError,
  GraphError,
  ShapeError,
  ModelFileError,
  DataError,
  UsageError,
  NumericError,
  type ErrorCode,
} from "./util/errors.js";
export type {
  Batch,
  BatchInputs,
  BatchTargets,
  Engine,
  EngineName,
  EngineOptions,
  EvaluationResult,
  GradientOptions,
  GradientResult,
  OptimizerConfig,
} from "./engine/types.js";
export { DEFAULT_ADAM } from "./engine/types.js";
export { createEngine, ENGINE_NAMES } from "./engine/create.js";
export { ReferenceEngine } from "./engine/reference/index.js";
export { TEXT_ALPHABET, SPACE_SYMBOL, TextCleaner, cleanText, decodeSymbols } from "./data/text.js";
export { DEFAULT_CONTEXT, DEFAULT_SPLIT, splitCorpus, fillOneHotWindows, WindowSampler, sequentialPositions, windowCount, type TextSplit } from "./data/windows.js";
export { networkToJson, networkFromJson, modelFromJson } from "./io/json-format.js";
export { networkToSafetensors, networkFromSafetensors, modelFromSafetensors } from "./io/safetensors.js";
export type { ModelExtra, LoadedModel } from "./io/schema.js";
export { crossEntropyBits, softmaxCrossEntropyBits, squaredError, setPerplexity, uniformBits } from "./train/metrics.js";
export { ALPHABET_SIZE, TextBatch, evaluateText, textTask, textShape, checkTextNetwork, contextOf, type TextEvaluation } from "./train/text.js";
export { trainText, type TextTrainingOptions, type TextTrainingResult, type StepInfo, type EvaluationInfo } from "./train/trainer.js";
export { learningRateAt, checkLrSchedule, finalRate, describeLrSchedule, LR_SCHEDULE_KINDS, CONSTANT_SCHEDULE, type LrSchedule, type LrScheduleKind, type LrBudget } from "./train/lr-schedule.js";
