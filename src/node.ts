/**
 * The Node entry: the browser-safe API plus files (corpora, MNIST, model files) and atomic writes.
 *
 * @module
 */
export * from "./index.js";
export { readCsvSamples, readImageSamples, readTextCorpus, corpusWarning, bundledCorpusPath, readIdx, loadMnist, BUNDLED_CORPUS_FILE, BUNDLED_CORPUS_SYMBOLS, type TextCorpus, type MnistSet, type IdxArray, type ReadTextOptions } from "./data/files.js";
export { saveNetwork, loadNetwork, loadModel, modelFormatOf, type ModelFormat } from "./io/model-file.js";
export { writeFileAtomic, type AtomicFs, type StaleCandidateInfo } from "./io/atomic.js";
export { saveQuantizedNetwork, loadQuantizedModel, encodeQuantized } from "./io/quantized-model-file.js";
export { decodeModel, encodeModel, readModelBytes, checkReadBack } from "./io/model-file.js";
