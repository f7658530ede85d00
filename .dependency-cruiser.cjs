// Dependency rules (issue 11 item 5), run by `npm run lint`: no import cycles, and imports only point
// down the layers  util ← graph, data ← io, engine ← train, estimate ← rewire, compress ← run ←
// experiments, cli, studio.  Outside src/engine/, the engines are reached only through their
// declared surfaces (types, create, softmax, optimizer, search-kernel, reference/index).
const layer = (name, allowed) => ({
  name: `layer-${name}`,
  comment: `src/${name}/ may import only ${allowed.join(", ")} (the layer order of docs/architecture.md)`,
  severity: "error",
  from: { path: `^src/${name}/` },
  to: { path: "^src/", pathNot: [`^src/(${[name, ...allowed].join("|")})/`] },
});

module.exports = {
  forbidden: [
    { name: "no-circular", comment: "an import cycle between files", severity: "error", from: {}, to: { circular: true } },
    layer("util", []),
    layer("graph", ["util"]),
    layer("data", ["util"]),
    layer("io", ["util", "graph"]),
    layer("engine", ["util", "graph"]),
    layer("train", ["util", "graph", "data", "io", "engine"]),
    layer("estimate", ["util", "graph", "data", "engine"]),
    layer("rewire", ["util", "graph", "data", "io", "engine", "train", "estimate"]),
    layer("compress", ["util", "graph", "data", "io", "engine", "train", "estimate"]),
    layer("run", ["util", "graph", "data", "io", "engine", "train", "estimate", "rewire", "compress"]),
    layer("experiments", ["util", "graph", "data", "io", "engine", "train", "estimate", "rewire", "compress", "run"]),
    // The studio page reuses the experiments' chart specs (experiments/charts.ts), nothing else of them.
    layer("studio", ["util", "graph", "data", "io", "engine", "train", "estimate", "rewire", "compress", "run", "experiments"]),
    {
      name: "studio-browser-safe",
      comment: "the studio's page and worker run in a browser: only server.ts may use Node built-ins",
      severity: "error",
      from: { path: "^src/studio/", pathNot: "^src/studio/server\\.ts$" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "studio-page-thin",
      comment: "the studio page bundle holds the UI only: sparsewire computations run in its worker",
      severity: "error",
      from: { path: "^src/studio/(page|graph-view|graph-layout)\\.ts$" },
      to: { path: "^src/", pathNot: "^src/studio/|^src/experiments/charts\\.ts$" },
    },
    {
      name: "engine-boundary",
      comment: "outside src/engine/, engines are reached only through their declared surfaces",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/engine/" },
      to: { path: "^src/engine/", pathNot: "^src/engine/(types|create|softmax|optimizer|dropout|search-kernel)\\.ts$|^src/engine/reference/index\\.ts$" },
    },
    {
      name: "no-orphans",
      comment: "a source file nothing imports (and that is not an entry point) is dead code",
      severity: "error",
      from: { orphan: true, path: "^src/", pathNot: "^src/(index|node|browser)\\.ts$|^src/cli/main\\.ts$|\\.d\\.ts$|^src/engine/wasm/worker\\.ts$|^src/studio/" },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    exclude: { path: "^(dist|node_modules)/" },
  },
};
