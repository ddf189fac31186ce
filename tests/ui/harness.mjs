// What every browser test shares: a real `baton quickstart` on a free port with its own data
// dir, Debian's Chromium driven by playwright-core (the installed browser: nothing downloads
// one), console-error collection, axe-core checks, screenshots and a JSON report under the
// test's output directory (BATON_UI_OUT, default build/tests/ui).
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";

const here = new URL(".", import.meta.url).pathname;
export const SOURCE_DIR = process.env.BATON_SOURCE_DIR ?? resolve(here, "../..");
const require = createRequire(join(SOURCE_DIR, "web-ui/package.json"));
const { chromium } = require("playwright-core");
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const BATON = process.env.BATON_BINARY ?? join(SOURCE_DIR, "build/bin/baton");
export const OUT = process.env.BATON_UI_OUT ?? join(SOURCE_DIR, "build/tests/ui");
export const CHROMIUM = process.env.BATON_CHROMIUM ?? "/usr/bin/chromium";

// Waits for `check()` to return a truthy value, polling every 50 ms, up to `ms`.
export async function waitFor(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Server {
  static async start(name) {
    const s = new Server();
    // Not under /tmp: tasks get a private /tmp in their sandbox (as samples/demo.sh says).
    mkdirSync("/var/tmp", { recursive: true });
    s.dir = mkdtempSync(join("/var/tmp", `baton-ui-${name}-`));
    s.data = join(s.dir, "data");
    s.proc = spawn(BATON, ["quickstart", "--bind", "127.0.0.1:0", "--data-dir", s.data, "--log-level", "warn"], {
      stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: s.dir }, detached: true,
    });
    s.log = "";
    s.proc.stdout.on("data", (d) => { s.log += d; });
    s.proc.stderr.on("data", (d) => { s.log += d; });
    const urlFile = join(s.data, "server-url");
    await waitFor(() => existsSync(urlFile) && readFileSync(urlFile, "utf8").trim(), 60_000, `the server (log: ${s.log})`);
    s.url = readFileSync(urlFile, "utf8").trim();
    s.token = readFileSync(join(s.data, "admin-token"), "utf8").trim();
    return s;
  }

  async api(method, path, body, headers = {}) {
    const res = await fetch(this.url + path, {
      method, headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text };
  }

  async setPipeline(name, yaml, vars = {}, extra = {}) {
    const r = await this.api("PUT", `/api/v1/teams/main/pipelines/${name}/config`, { config: yaml, vars, paused: false, ...extra });
    assert.equal(r.status, 200, `set-pipeline ${name}: ${r.text}`);
    return r.json;
  }

  async builds(pipeline, job) {
    const r = await this.api("GET", `/api/v1/teams/main/pipelines/${pipeline}/jobs/${job}/builds`);
    return r.json ?? [];
  }

  async waitForBuild(pipeline, job, predicate, ms, what) {
    return waitFor(async () => (await this.builds(pipeline, job)).find(predicate), ms, what ?? `a build of ${pipeline}/${job}`);
  }

  async stop() {
    if (this.proc.exitCode === null) {
      try { process.kill(-this.proc.pid, "SIGTERM"); } catch { /* gone */ }
      await Promise.race([new Promise((r) => this.proc.once("exit", r)), new Promise((r) => setTimeout(r, 20_000))]);
      try { process.kill(-this.proc.pid, "SIGKILL"); } catch { /* gone */ }
    }
    if (!process.env.BATON_UI_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--enable-precise-memory-info"],
  });
}

// A page that records console errors and page errors; `errors` must stay empty.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.errors = [];
  page.on("console", (m) => { if (m.type() === "error") page.errors.push(`console: ${m.text()} (${m.location()?.url ?? ""})`); });
  page.on("pageerror", (e) => page.errors.push(`page error: ${e.message}`));
  return page;
}

export async function login(page, server) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Token").fill(server.token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${server.url}/`);
}

// axe-core on the page as it is: no "serious" or "critical" violation.
export async function checkAccessibility(page, label) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const text = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("\n  ")}`);
  assert.deepEqual(text, [], `axe on ${label}`);
  return result.violations.length;
}

export async function screenshot(page, name) {
  const dir = join(OUT, "screenshots");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export function report(name, data) {
  mkdirSync(OUT, { recursive: true });
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const file = join(OUT, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...data, load_average: load, at: new Date().toISOString() }, null, 2));
  console.log(`report ${file}: ${JSON.stringify(data)} (load ${load})`);
}

// A git repository at `dir` holding `files` ({path: text}), one commit on main.
export function gitRepo(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const git = (...a) => execFileSync("git", ["-C", dir, ...a], { stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("-c", "user.name=UI Test", "-c", "user.email=ui@example.com", "commit", "-qm", "first commit");
}

export { assert, tmpdir };
