/**
 * The browser-safe data layer (§4.6): text cleaning to the 27-symbol alphabet and one-hot windows.
 * File reading (Node streams, gzip, MNIST IDX) lives in ./files.ts and is not re-exported here, so
 * browser bundles never pull in node:fs or node:zlib.
 */
export * from "./text.js";
export * from "./windows.js";
