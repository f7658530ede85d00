/**
 * The studio's local HTTP server (Node): serves the built page (dist/studio/, see
 * scripts/build-studio.mjs) on the loopback interface, with the cross-origin isolation headers
 * (COOP same-origin, COEP require-corp, CORP same-origin) that let the wasm engine share memory
 * between Web Workers and so train on all cores. `isolation: false` leaves them out: the page then
 * trains on one thread and says so. With `model`, the page opens that file when it loads.
 */
import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { basename, extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { SparsewireError, UsageError } from "../util/errors.js";

/** Where `npm run build:studio` puts the page: dist/studio/, next to this module's dist/src/. */
export const STUDIO_ROOT = fileURLToPath(new URL("../../studio/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".gz": "application/gzip",
  ".safetensors": "application/octet-stream",
};

export interface StudioServerOptions {
  /** Port (0: a free one). */
  port: number;
  /** Interface to listen on (default 127.0.0.1: only this machine). */
  host?: string;
  /** Send the cross-origin isolation headers (default true). */
  isolation?: boolean;
  /** A model file the page opens on load. */
  model?: string;
  /** The built page (default STUDIO_ROOT). */
  root?: string;
}

export interface StudioServer {
  url: string;
  port: number;
  server: Server;
  /** Requests served, "STATUS /path", for logs and tests. */
  log: string[];
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. Refuses a missing build or model with one line. */
export async function startStudioServer(o: StudioServerOptions): Promise<StudioServer> {
  const root = resolve(o.root ?? STUDIO_ROOT);
  if (!existsSync(resolve(root, "index.html")) || !existsSync(resolve(root, "lib", "src", "studio", "worker.js"))) {
    throw new SparsewireError("usage", `the studio page is not built in ${root}`, "run `npm run build` (or `npm run build:studio`)");
  }
  const model = o.model !== undefined ? resolve(o.model) : undefined;
  if (model !== undefined && !existsSync(model)) throw new UsageError(`model file ${o.model} does not exist`);
  const modelPath = model !== undefined ? `/model/${encodeURIComponent(basename(model))}` : undefined;
  const isolation = o.isolation ?? true;
  const log: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const headers: Record<string, string> = { "Cache-Control": "no-cache", "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" };
      if (isolation) {
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Embedder-Policy"] = "require-corp";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
      }
      let status = 404;
      let body: Buffer | string = "not found";
      try {
        if (req.method !== "GET" && req.method !== "HEAD") {
          status = 405;
          body = "method not allowed";
        } else if (modelPath !== undefined && url.pathname === modelPath) {
          body = await readFile(model!);
          status = 200;
          headers["Content-Type"] = TYPES[extname(model!)] ?? "application/octet-stream";
        } else {
          const path = url.pathname.endsWith("/") ? `${url.pathname}index.html` : url.pathname;
          const file = resolve(root, `.${decodeURIComponent(path)}`);
          if (file.startsWith(root + sep) && existsSync(file)) {
            body = await readFile(file);
            status = 200;
            headers["Content-Type"] = TYPES[extname(file)] ?? "application/octet-stream";
            if (path.endsWith("/index.html") && modelPath !== undefined) {
              // Tell the page which model to open: a meta tag, so a static host (no model) needs no request.
              body = body.toString("utf8").replace("<head>", `<head>\n<meta name="sparsewire-model" content=".${modelPath}">`);
            }
          }
        }
      } catch (error) {
        status = 500;
        body = `cannot read the file: ${(error as Error).message}`;
      }
      log.push(`${status} ${url.pathname}`);
      res.writeHead(status, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      fail(error.code === "EADDRINUSE" ? new UsageError(`port ${o.port} is in use`, "choose another with --port, or --port 0 for a free one") : error);
    });
    server.listen(o.port, o.host ?? "127.0.0.1", () => ok());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${port}/`,
    port,
    server,
    log,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
