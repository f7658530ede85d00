/**
 * sparsewire's public API, browser-safe: nothing here imports a Node built-in. The Node entry
 * (`src/node.ts`, the package's default export) adds files, model saving and threads.
 *
 * @module
 */
export { Network, transpose, type Task, type NetworkArrays, type RandomNetworkOptions, type Consumers } from "./graph/network.js";
export { Rng, type RngState } from "./util/rng.js";
export { layeredNetwork, layerOf, layeredAdmissibility, type LayeredOptions, type LayeredAdmissibility } from "./graph/layered.js";
export { parseCsv, splitSamples, selectSamples, scaleFeatures, type SampleSet, type CsvOptions, type Scaling } from "./data/samples.js";
export { SampleData, evaluateSamples, type SampleDataOptions } from "./train/samples.js";
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
  ClassLoss,
  Engine,
  EngineName,
  EngineOptions,
  EvaluationResult,
  GradientOptions,
  GradientResult,
  OptimizerConfig,
} from "./engine/types.js";
export { DEFAULT_ADAM } from "./engine/types.js";
export { dropoutMask, type DropoutConfig, type DropoutMask } from "./engine/dropout.js";
export { createEngine, ENGINE_NAMES } from "./engine/create.js";
export { ReferenceEngine } from "./engine/reference/index.js";
export { TEXT_ALPHABET, SPACE_SYMBOL, TextCleaner, cleanText, decodeSymbols } from "./data/text.js";
export { DEFAULT_CONTEXT, DEFAULT_SPLIT, splitCorpus, fillOneHotWindows, WindowSampler, sequentialPositions, windowCount, type TextSplit, type SplitName } from "./data/windows.js";
export { networkToJson, networkFromJson, modelFromJson } from "./io/json-format.js";
export { networkToSafetensors, networkFromSafetensors, modelFromSafetensors } from "./io/safetensors.js";
export type { ModelExtra, LoadedModel } from "./io/schema.js";
export { crossEntropyBits, softmaxCrossEntropyBits, squaredError, setPerplexity, uniformBits } from "./train/metrics.js";
export { ALPHABET_SIZE, TextBatch, TextData, evaluateText, evaluateTextSample, textTask, textShape, checkTextNetwork, contextOf, type TextEvaluation } from "./train/text.js";
export type { TrainingData, BatchSampler, Evaluation, SamplerPosition } from "./train/data.js";
export { trainText, trainOn, type TrainingOptions, type TrainerState, type TrainerControl, type Trainable, type TextTrainingOptions, type TextTrainingResult, type StepInfo, type EvaluationInfo } from "./train/trainer.js";
export { learningRateAt, checkLrSchedule, finalRate, describeLrSchedule, LR_SCHEDULE_KINDS, CONSTANT_SCHEDULE, type LrSchedule, type LrScheduleKind, type LrBudget } from "./train/lr-schedule.js";
export { nextSymbolProbabilities } from "./train/predict.js";
export { generateText, type GenerateOptions } from "./train/generate.js";
export { softmaxStats, crossEntropyBitsFrom, type SoftmaxStats } from "./engine/softmax.js";
export type { OptimizerSnapshot, UtilityStatistics } from "./engine/types.js";

// One training run: the way train, the experiments and the browser page train (src/run/).
export * from "./run/index.js";
// Rewiring (thesis chapter 4): presets (thesis, SET, RigL) and the parts of a round.
export * from "./rewire/index.js";
export { OnlineOrder, type OnlineOrderOptions, type OnlineOrderStats, type OnlineOrderState } from "./graph/online-order.js";
export { orderAdmissibility, levelAdmissibility, maskAdmissibility, type Admissibility, type DescendantWordsKernel } from "./graph/admissibility.js";
// The candidate-search kernels' declared interface, which the rewire/ search options and collector name.
export type { CandidateSink, SearchKernel } from "./engine/search-kernel.js";
// Estimates (§4.1–4.2): first-order utility (eq. 4.3), magnitude, OBD, taylor, wanda, true utility, sensitivity.
export * from "./estimate/index.js";
// Compression (§4.2): quantisation, pruning, gradual pruning; the quantised model format.
export * from "./compress/index.js";
export * from "./io/quantization.js";
export * from "./io/quantized-format.js";
export { settingError, type ErrorCode as SparsewireErrorCode } from "./util/errors.js";
export { mean, sd, quantile, median, pearson, spearman, pairedDifference, type PairedDifference } from "./util/stats.js";
