// W9 (shared/BENCHMARKS.md) in headless Chromium: the dashboard with 200 pipelines and a
// pipeline of 500 jobs, time to interactive (aim < 1 s); a 200,000-line log: first lines
// (aim < 300 ms), the end (aim < 2 s), the tab's JS heap (aim < 150 MB). Medians of 3 runs go
// to perf.json under the test output, with the load average. Times on this shared 2-core
// machine swing tenfold with its load, so the time assertions only catch gross regressions:
// 10x the aims, scaled by the run queue beyond two per core (at load 20 the tab gets a tenth of
// a core). What does not depend on load is held exactly: the heap aim, and that only the rows
// on screen are in the DOM.
import { after, before, test } from "node:test";
import { assert, launchBrowser, login, newPage, report, screenshot, Server, waitFor } from "./harness.mjs";

const RUNS = 3;
import { readFileSync } from "node:fs";
const LOAD = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const bound = (aimMs) => aimMs * 10 * Math.max(1, LOAD / 4);
const results = {};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const smallPipeline = (i) => `jobs:\n${["build", "test", "lint", "package", "deploy", "smoke"].map((j) =>
  `- name: ${j}\n  plan:\n  - task: t\n    config: {platform: linux, run: {path: "true"}}\n`).join("")}`;

// 500 jobs in 50 layers of 10; each job after the first layer takes the resource through two
// jobs of the layer before (a dense, realistic passed: web).
function bigPipeline() {
  let y = "resources:\n- name: tick\n  type: time\n  source: {interval: 24h}\njobs:\n";
  for (let l = 0; l < 50; l++) {
    for (let c = 0; c < 10; c++) {
      const passed = l === 0 ? "" : `\n    passed: [j${l - 1}-${c}, j${l - 1}-${(c + 1) % 10}]`;
      y += `- name: j${l}-${c}\n  plan:\n  - get: tick${passed}\n  - task: t\n    config: {platform: linux, run: {path: "true"}}\n`;
    }
  }
  return y;
}

let server, browser;
before(async () => {
  server = await Server.start("perf");
  browser = await launchBrowser();
  for (let i = 0; i < 200; i++) await server.setPipeline(`app-${String(i).padStart(3, "0")}`, smallPipeline(i), {}, { paused: i % 7 === 0 });
  await server.setPipeline("big", bigPipeline(), {}, { paused: true });
});
after(async () => {
  await browser?.close(); await server?.stop();
  report("perf", results);
});

async function marks(page, ready, interactive) {
  await page.waitForFunction((n) => performance.getEntriesByName(n).length > 0, interactive, { timeout: 30_000 });
  return page.evaluate(([r, i]) => ({ ready: performance.getEntriesByName(r)[0].startTime, interactive: performance.getEntriesByName(i)[0].startTime }), [ready, interactive]);
}

test("W9: the dashboard with 200 pipelines is interactive in under a second", async () => {
  const page = await newPage(browser);
  await login(page, server);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}/`);
    runs.push(await marks(page, "dashboard-ready", "dashboard-interactive"));
    const t = performance.now();
    assert.equal((await server.api("GET", "/api/v1/teams/main/dashboard")).status, 200);
    (results.dashboard_api_ms ??= []).push(performance.now() - t);
    assert.equal(await page.locator(".card").count(), 201);
  }
  await screenshot(page, "dashboard-200");
  results.dashboard_200_pipelines = { ready_ms: median(runs.map((r) => r.ready)), interactive_ms: median(runs.map((r) => r.interactive)), runs };
  assert.ok(results.dashboard_200_pipelines.interactive_ms < bound(1000), JSON.stringify(runs));
  assert.deepEqual(page.errors, []);
});

test("W9: a pipeline of 500 jobs is interactive in under a second", async () => {
  const page = await newPage(browser);
  await login(page, server);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}/teams/main/pipelines/big`);
    runs.push(await marks(page, "graph-ready", "graph-interactive"));
    assert.equal(await page.locator('[data-node^="job:"]').count(), 500);
  }
  await screenshot(page, "pipeline-500");
  const api = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    assert.equal((await server.api("GET", "/api/v1/teams/main/pipelines/big/overview")).status, 200);
    api.push(performance.now() - t);
  }
  results.overview_500_jobs_api_ms = median(api);
  results.pipeline_500_jobs = { ready_ms: median(runs.map((r) => r.ready)), interactive_ms: median(runs.map((r) => r.interactive)), runs };
  assert.ok(results.pipeline_500_jobs.interactive_ms < bound(1000), JSON.stringify(runs));
  assert.deepEqual(page.errors, []);
});

test("W9: a 200,000-line log shows its first lines, reaches its end, in bounded heap", async () => {
  const line = "x".repeat(80);
  await server.setPipeline("log", `jobs:\n- name: big\n  plan:\n  - task: print\n    config:\n      platform: linux\n      run: {path: sh, args: [-c, "awk 'BEGIN { for (i = 1; i <= 200000; i++) printf \\"line %06d ${line}\\\\n\\", i }'"]}\n`);
  const started = await server.api("POST", "/api/v1/teams/main/pipelines/log/jobs/big/builds");
  assert.equal(started.status, 201, started.text);
  await server.waitForBuild("log", "big", (b) => b.status === "succeeded", 300_000, "the 200,000-line build");
  const page = await newPage(browser);
  await login(page, server);
  const cdp = await page.context().newCDPSession(page);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}/builds/${started.json.id}`);
    await page.waitForFunction(() => performance.getEntriesByName("log-complete").length > 0, null, { timeout: 60_000 });
    await page.locator(".row.line", { hasText: "line 200000 " }).waitFor({ timeout: 10_000 });
    const t = await page.evaluate(() => ({
      first_lines: performance.getEntriesByName("log-first-lines")[0].startTime,
      end: performance.getEntriesByName("log-complete")[0].startTime,
      lines: document.querySelector(".line-count")?.textContent,
      dom_rows: document.querySelectorAll(".slot").length,
    }));
    const before = await cdp.send("Runtime.getHeapUsage");
    await cdp.send("HeapProfiler.collectGarbage");
    const afterGc = await cdp.send("Runtime.getHeapUsage");
    runs.push({ ...t, heap_mb: before.usedSize / 2 ** 20, heap_after_gc_mb: afterGc.usedSize / 2 ** 20 });
  }
  // Scrolling from the end to the top and back stays within the DOM budget.
  await page.locator(".log").evaluate((el) => { el.scrollTop = 0; });
  await page.locator(".row.line", { hasText: "line 000001 " }).waitFor();
  assert.ok((await page.locator(".slot").count()) < 200, "only what is on screen is rendered");
  await screenshot(page, "build-200k");
  results.log_200k_lines = {
    first_lines_ms: median(runs.map((r) => r.first_lines)), end_ms: median(runs.map((r) => r.end)),
    heap_mb: median(runs.map((r) => r.heap_mb)), heap_after_gc_mb: median(runs.map((r) => r.heap_after_gc_mb)), runs,
  };
  const r = results.log_200k_lines;
  assert.match(runs[0].lines, /^200,00\d lines$/);  // the task's lines and Baton's own
  assert.ok(r.first_lines_ms < bound(300) && r.end_ms < bound(2000), `${JSON.stringify(r)} at load ${LOAD}`);
  assert.ok(Math.max(...runs.map((x) => x.heap_mb)) < 150, `heap: ${JSON.stringify(runs)}`);
  assert.ok(runs.every((x) => x.dom_rows < 200), "virtual: only the rows on screen");
  assert.deepEqual(page.errors, []);
});
