/**
 * `sparsewire studio`: serve the studio page (issue 13) on this machine and keep serving until
 * Ctrl-C. The page trains, rewires and writes in the browser with the same run module and engines
 * as the CLI; the server only hands out files (src/studio/server.ts).
 */
import { spawn } from "node:child_process";
import { startStudioServer } from "../../studio/server.js";
import { formatHelp, parseFlags, type CommandSpec } from "../args.js";
import { printJson } from "../common.js";

export const studioSpec: CommandSpec = {
  name: "studio",
  summary: "watch a sparse network train and rewire in the browser, and let a model write text",
  usage: "sparsewire studio [--port P] [--host H] [--model PATH] [--open] [--isolation on|off] [--json]",
  flags: [
    { name: "port", type: "int", default: 8737, min: 0, max: 65535, value: "P", help: "port to listen on (0: a free one)" },
    { name: "host", type: "string", default: "127.0.0.1", value: "H", help: "interface to listen on; the default serves this machine only" },
    { name: "model", type: "string", value: "PATH", help: "a model file (.safetensors or .json, quantised too) the page opens when it loads" },
    { name: "open", type: "boolean", help: "open the page in the default browser" },
    { name: "isolation", type: "string", default: "on", choices: ["on", "off"], value: "on|off", help: "send the cross-origin isolation headers that let the engine use all cores (off: one thread, as on a host without them)" },
    { name: "json", type: "boolean", help: "print the address as one JSON object when listening" },
  ],
  examples: ["sparsewire studio --open", "sparsewire studio --model model.safetensors --port 0"],
};

export async function studioCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(formatHelp(studioSpec) + "\n");
    return 0;
  }
  const flags = parseFlags(studioSpec, argv);
  const model = flags.string("model");
  const isolation = flags.requireString("isolation") === "on";
  const server = await startStudioServer({ port: flags.number("port"), host: flags.requireString("host"), isolation, ...(model !== undefined ? { model } : {}) });
  if (flags.boolean("json")) printJson({ url: server.url, port: server.port, isolation, ...(model !== undefined ? { model } : {}) });
  else {
    process.stdout.write(`sparsewire studio: ${server.url}  (${isolation ? "cross-origin isolated: all cores" : "not isolated: one thread"}; Ctrl-C to stop)\n`);
  }
  if (flags.boolean("open")) openBrowser(server.url);
  await new Promise<void>((done) => {
    const stop = () => {
      process.stdout.write("sparsewire studio: stopped\n");
      void server.close().then(done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

/** The platform's "open this URL" command; a failure only prints the address again. */
function openBrowser(url: string): void {
  const [command, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  const child = spawn(command, args as string[], { stdio: "ignore", detached: true });
  child.on("error", () => process.stderr.write(`sparsewire studio: could not start a browser (${command}); open ${url} yourself\n`));
  child.unref();
}
