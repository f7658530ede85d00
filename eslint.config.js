// ESLint (flat config) with typescript-eslint's recommended rules, run by `npm run lint` (part of
// `npm test`). Style is left to the code; these rules catch mistakes.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "assembly/", "data/", "results/", "docs/api/", ".dependency-cruiser.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["scripts/**/*.mjs", "test/**/*.ts", "bench/**/*.ts"],
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", performance: "readonly", URL: "readonly", setTimeout: "readonly" } },
  },
);
