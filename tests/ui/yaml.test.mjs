// The YAML tab: the server's diagnostic at the typo's line, a sample job inserted and saved
// (with the diff shown first), and a stale edit refused with the diff against the newer config.
import { after, before, test } from "node:test";
import { assert, checkAccessibility, launchBrowser, login, newPage, screenshot, Server, waitFor } from "./harness.mjs";

const PIPELINE = `resources:
- name: source
  type: git
  source: {uri: /nonexistent/repo, branch: main}
jobs:
- name: hello
  plan:
  - get: source
  - task: say
    config:
      platform: linux
      run: {path: echo, args: [hi]}
`;

let server, browser;
before(async () => {
  server = await Server.start("yaml");
  browser = await launchBrowser();
  await server.setPipeline("edit", PIPELINE, {}, { paused: true });
});
after(async () => { await browser?.close(); await server?.stop(); });

async function openEditor(page) {
  await page.goto(`${server.url}/teams/main/pipelines/edit/yaml`);
  await page.locator(".cm-content").waitFor();
  await page.getByText("The server's validator finds nothing wrong.").waitFor();
}

// Replaces the editor's text the way a person would: select all, type.
async function setText(page, text) {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(text);
}

test("a typo shows the server's diagnostic at its line", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await openEditor(page);
  await setText(page, PIPELINE.replace("  - get: source\n", "  - get: sorce\n"));
  const problem = page.locator(".problem.error", { hasText: "sorce" }).first();
  await problem.waitFor({ timeout: 10_000 });
  assert.equal(await problem.getAttribute("data-line"), "8");
  assert.match(await problem.textContent(), /edit\.yml:8:\d+.*sorce/);
  // The gutter marks the same line: the 8th line of the editor.
  await page.locator(".cm-lint-marker-error").first().waitFor();
  const marked = await page.locator(".cm-gutter-lint .cm-gutterElement").evaluateAll((els) =>
    els.filter((e) => e.querySelector(".cm-lint-marker-error")).map((e) => e.getBoundingClientRect().top));
  const line8 = await page.locator(".cm-line").nth(7).evaluate((e) => e.getBoundingClientRect().top);
  assert.ok(marked.some((top) => Math.abs(top - line8) < 4), `a gutter mark at line 8 (${marked} vs ${line8})`);
  await checkAccessibility(page, "yaml");
  await screenshot(page, "yaml-diagnostic");
  assert.deepEqual(page.errors, []);
});

test("completion offers the schema's keys", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await openEditor(page);
  // A new key at the end of the job "hello", at its keys' indentation.
  await setText(page, PIPELINE + "  ser");
  await page.keyboard.type("i");
  const option = page.locator(".cm-tooltip-autocomplete li", { hasText: "serial" }).first();
  await option.waitFor({ timeout: 5_000 });
  assert.deepEqual(page.errors, []);
});

test("a sample job inserts and saves, after showing the diff", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await openEditor(page);
  await page.getByLabel("Sample job").selectOption("unit-test");
  await page.getByRole("button", { name: "Insert sample job" }).click();
  await page.getByText("Inserted job unit-test.").waitFor();
  await page.getByRole("button", { name: "Review and save…" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.locator(".diff .added", { hasText: /name: unit-test\n/ }).waitFor();
  // Only additions: the rest of the file keeps its formatting.
  assert.equal(await dialog.locator(".diff .removed").count(), 0);
  await screenshot(page, "yaml-save-diff");
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.locator(".error-box, .message:has-text('Saved')").first().waitFor();
  assert.deepEqual(await page.locator(".error-box").allTextContents(), []);
  await page.getByText(/Saved: config version 2/).waitFor();
  const jobs = await server.api("GET", "/api/v1/teams/main/pipelines/edit/jobs");
  assert.deepEqual(jobs.json.map((j) => j.name).sort(), ["hello", "unit-test"]);
  // Its resources came with it.
  const resources = await server.api("GET", "/api/v1/teams/main/pipelines/edit/resources");
  assert.ok(resources.json.some((r) => r.name === "unit-test-reports"));
  assert.deepEqual(page.errors, []);
});

test("a stale edit is refused with the diff against the newer config", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await openEditor(page);
  const before = (await server.api("GET", "/api/v1/teams/main/pipelines/edit/config")).json;
  // Someone else saves meanwhile.
  await server.setPipeline("edit", before.config.replace("args: [hi]", "args: [theirs]"));
  await setText(page, before.config.replace("args: [hi]", "args: [mine]"));
  await page.getByRole("button", { name: "Review and save…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Save" }).click();
  const conflict = page.getByRole("alertdialog");
  await conflict.getByText("the pipeline changed since you opened it").waitFor();
  await conflict.locator(".diff .removed", { hasText: "theirs" }).waitFor();
  await conflict.locator(".diff .added", { hasText: "mine" }).waitFor();
  await screenshot(page, "yaml-conflict");
  const now = (await server.api("GET", "/api/v1/teams/main/pipelines/edit/config")).json;
  assert.match(now.config, /theirs/, "nothing was saved");
  page.errors = page.errors.filter((e) => !e.includes("409"));
  assert.deepEqual(page.errors, []);
});
