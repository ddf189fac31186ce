// Bundles the UI with esbuild into static files for the server (see docs/ui.md):
//   node build.mjs [--out DIR]     (default: dist/)
// Output: index.html, assets/app-<hash>.js, assets/app-<hash>.css, and a .gz twin of each, which
// the server sends to clients that accept gzip. Content-hashed names can be cached forever;
// index.html is small and never cached.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const argOut = process.argv.indexOf("--out");
const out = argOut > 0 ? process.argv[argOut + 1] : "dist";
const here = new URL(".", import.meta.url).pathname;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(here, "src/main.tsx"), "layout-worker": join(here, "src/graph/layout_worker.ts") },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  outdir: join(out, "assets"),
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const names = Object.keys(result.metafile.outputs).map((p) => p.split("/").pop());
const js = names.find((n) => n.startsWith("app-") && n.endsWith(".js"));
const css = names.find((n) => n.startsWith("app-") && n.endsWith(".css"));
const worker = names.find((n) => n.startsWith("layout-worker-") && n.endsWith(".js"));
const html = readFileSync(join(here, "src/index.html"), "utf8")
  .replace("%APP_JS%", `/assets/${js}`)
  .replace("%APP_CSS%", `/assets/${css}`)
  .replace("%LAYOUT_WORKER%", `/assets/${worker}`);
writeFileSync(join(out, "index.html"), html);
copyFileSync(join(here, "src/favicon.svg"), join(out, "favicon.svg"));

for (const dir of [out, join(out, "assets")]) {
  for (const name of readdirSync(dir)) {
    if (!/\.(js|css|html|svg)$/.test(name)) continue;
    const body = readFileSync(join(dir, name));
    writeFileSync(join(dir, name + ".gz"), gzipSync(body, { level: 9 }));
  }
}
const sizes = names.map((n) => `${n} ${(readFileSync(join(out, "assets", n)).length / 1024).toFixed(0)} KiB`);
const digest = createHash("sha256").update(html).digest("hex").slice(0, 12);
console.log(`web-ui: ${sizes.join(", ")} -> ${out} (index ${digest})`);
