/**
 * The browser-safe model file formats: JSON and safetensors, from and to strings and bytes.
 * Reading and writing files (with atomic saves) is in ./model-file.ts, which is Node-only and
 * deliberately not re-exported here, so browser bundles never pull in node:fs.
 */
export { modelFromJson, networkFromJson, networkToJson } from "./json-format.js";
export { modelFromSafetensors, networkFromSafetensors, networkToSafetensors, SAFETENSORS_MAX_HEADER } from "./safetensors.js";
export { ACTIVATION, FORMAT_NAME, FORMAT_VERSION, type LoadedModel, type ModelExtra } from "./schema.js";
export * from "./quantization.js";
export * from "./quantized-format.js";
