// The seed pipeline (samples/seed/ci/pipeline.yml) as a graph: its six jobs and eight
// resources, the passed: edges, colours after a build (source succeeded, compile running, then
// aborted from its build page), and pinning a version of the git resource with a comment.
import { after, before, test } from "node:test";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assert, checkAccessibility, gitRepo, launchBrowser, login, newPage, screenshot, Server, SOURCE_DIR } from "./harness.mjs";

const JOBS = ["source", "compile", "static-analysis", "unit-test", "secure-coding", "deploy"];
const RESOURCES = ["source", "binaries", "static-analysis-reports", "unit-test-reports", "secure-coding-reports", "api", "admin", "user"];
// [from, to]: every edge the graph must draw (resource -> job for gets without passed:,
// job -> job for passed:, job -> resource for puts).
const EDGES = [
  ["resource:source", "job:source"], ["job:source", "job:compile"], ["job:compile", "resource:binaries"],
  ...["static-analysis", "unit-test", "secure-coding"].flatMap((j) => [["job:compile", `job:${j}`], [`job:${j}`, "job:deploy"], [`job:${j}`, `resource:${j}-reports`]]),
  ["job:deploy", "resource:api"], ["job:deploy", "resource:admin"], ["job:deploy", "resource:user"],
];

let server, browser, compile;
before(async () => {
  server = await Server.start("seed");
  browser = await launchBrowser();
  const repo = join(server.dir, "seed-app");
  cpSync(join(SOURCE_DIR, "samples/seed/app"), repo, { recursive: true });
  cpSync(join(SOURCE_DIR, "samples/seed/ci/tasks"), join(repo, "ci/tasks"), { recursive: true });
  cpSync(join(SOURCE_DIR, "samples/seed/ci/scripts"), join(repo, "ci/scripts"), { recursive: true });
  gitRepo(repo, {});
  const vars = { repo, cf_api: "http://127.0.0.1:9", cf_org: "o", cf_space: "s", cf_username: "u", cf_password: "p",
    cf_domain: "apps.example.com", app_bind: "127.0.0.1" };
  await server.setPipeline("seed", readFileSync(join(SOURCE_DIR, "samples/seed/ci/pipeline.yml"), "utf8"), vars);
  await server.waitForBuild("seed", "source", (b) => b.status === "succeeded", 180_000, "source #1 to succeed");
  compile = await server.waitForBuild("seed", "compile", (b) => ["pending", "started"].includes(b.status), 120_000, "compile #1 to start");
});
after(async () => { await browser?.close(); await server?.stop(); });

test("the graph shows six jobs, eight resources, their edges and colours", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await page.goto(`${server.url}/teams/main/pipelines/seed`);
  await page.locator('[data-node="job:deploy"]').waitFor();
  const nodes = await page.locator("[data-node]").evaluateAll((els) => els.map((e) => e.getAttribute("data-node")));
  assert.deepEqual(nodes.filter((n) => n.startsWith("job:")).sort(), JOBS.map((j) => `job:${j}`).sort());
  assert.deepEqual(nodes.filter((n) => n.startsWith("resource:")).sort(), RESOURCES.map((r) => `resource:${r}`).sort());
  const edges = await page.locator("path.edge[data-from]").evaluateAll((els) =>
    els.map((e) => [e.getAttribute("data-from"), e.getAttribute("data-to"), e.classList.contains("trigger")]));
  for (const [from, to] of EDGES) assert.ok(edges.some(([f, t]) => f === from && t === to), `edge ${from} -> ${to}`);
  assert.equal(edges.length, EDGES.length, `no other edges: ${JSON.stringify(edges)}`);
  // Every job -> job edge carries a triggering get, so it is solid.
  assert.ok(edges.filter(([f, t]) => f.startsWith("job:") && t.startsWith("job:")).every(([, , trigger]) => trigger));
  const source = page.locator('[data-node="job:source"]');
  assert.equal(await source.getAttribute("data-status"), "succeeded");
  assert.match(await source.getAttribute("aria-label"), /succeeded/, "status in words, not colour alone");
  assert.equal(await page.locator('[data-node="job:compile"]').getAttribute("data-running"), "true");
  assert.match(await page.locator('[data-node="job:compile"]').getAttribute("class"), /running/);
  assert.equal(await page.locator('[data-node="job:deploy"]').getAttribute("data-status"), "none");
  await checkAccessibility(page, "pipeline graph");
  await screenshot(page, "pipeline-graph");
  assert.deepEqual(page.errors, []);
});

test("aborting compile from its build page turns it aborted on the graph", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await page.goto(`${server.url}/builds/${compile.id}`);
  await page.getByRole("button", { name: "Abort" }).click();
  await page.locator('[data-build-status="aborted"]').waitFor({ timeout: 60_000 });
  await page.goto(`${server.url}/teams/main/pipelines/seed`);
  await page.locator('[data-node="job:compile"][data-status="aborted"]').waitFor({ timeout: 10_000 });
  await screenshot(page, "pipeline-graph-aborted");
  assert.deepEqual(page.errors, []);
});

test("pin a version of the git resource with a comment, then unpin", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await page.goto(`${server.url}/teams/main/pipelines/seed/resources/source`);
  await page.locator(".versions li").first().waitFor();
  await page.getByLabel("Pin comment").fill("hold for the release");
  await page.getByRole("button", { name: "Pin" }).first().click();
  await page.getByRole("status").filter({ hasText: "hold for the release" }).waitFor();
  const r = (await server.api("GET", "/api/v1/teams/main/pipelines/seed/resources")).json.find((x) => x.name === "source");
  assert.ok(r.pinned_version_id > 0);
  assert.equal(r.pin_comment, "hold for the release");
  await page.locator(".versions li").first().locator("summary").click();
  await page.locator(".used-by a", { hasText: "source #1" }).waitFor();
  await checkAccessibility(page, "resource");
  await screenshot(page, "resource");
  await page.getByRole("button", { name: "Unpin" }).click();
  await page.getByLabel("Pin comment").waitFor();
  assert.deepEqual(page.errors, []);
});
