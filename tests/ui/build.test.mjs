// Triggering from the job page and following the build live to its end; ANSI colours, search,
// timestamps, raw download; aborting a running build from its page.
import { after, before, test } from "node:test";
import { readFileSync } from "node:fs";
import { assert, checkAccessibility, launchBrowser, login, newPage, screenshot, Server } from "./harness.mjs";

// 30 lines over ~3 s, one red and one green, then success; and a job that sleeps until aborted.
const PIPELINE = `jobs:
- name: count
  plan:
  - task: count
    config:
      platform: linux
      run:
        path: sh
        args:
        - -c
        - |
          printf '\\033[31mred alert\\033[0m and \\033[32mall green\\033[0m\\n'
          i=1; while [ $i -le 30 ]; do echo "line $i of 30"; i=$((i+1)); sleep 0.1; done
          echo "needle in the haystack" >&2
          echo done
- name: sleeper
  plan:
  - task: sleep
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo going to sleep; sleep 300']}
`;

let server, browser;
before(async () => {
  server = await Server.start("build");
  browser = await launchBrowser();
  await server.setPipeline("live", PIPELINE);
});
after(async () => { await browser?.close(); await server?.stop(); });

test("trigger from the job page, follow the build live to the end", async () => {
  const page = await newPage(browser);
  await login(page, server);
  await page.goto(`${server.url}/teams/main/pipelines/live/jobs/count`);
  await page.getByRole("button", { name: "Trigger build" }).click();
  await page.waitForURL(/\/builds\/\d+$/);
  // Lines arrive while the build runs: line 5 is on screen before the build has succeeded.
  await page.locator(".row.line", { hasText: "line 5 of 30" }).waitFor({ timeout: 60_000 });
  const statusWhileRunning = await page.locator("[data-build-status]").getAttribute("data-build-status");
  assert.ok(["pending", "started"].includes(statusWhileRunning), `still running, was ${statusWhileRunning}`);
  await page.locator('[data-build-status="succeeded"]').waitFor({ timeout: 60_000 });
  await page.locator(".row.line", { hasText: "done" }).waitFor();
  assert.equal(await page.locator(".row.line .text", { hasText: "red alert" }).locator(".ansi-red-fg").count(), 1);
  assert.equal(await page.locator(".row.line.stderr", { hasText: "needle" }).count(), 1);
  await page.getByLabel("Timestamps").check();
  await page.locator(".row.line .ts").first().waitFor();
  await page.getByLabel("Search the log").fill("line 2");
  await page.getByText(/1 of 11/).waitFor();  // "line 2", "line 20".."line 29"
  assert.ok(await page.locator("mark").count() >= 1);
  await checkAccessibility(page, "build");
  await screenshot(page, "build");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download raw log" }).click()]);
  const text = readFileSync(await download.path(), "utf8");
  assert.match(text, /line 30 of 30\n/);
  assert.match(text, /^\d{4}-\d\d-\d\dT/m, "timestamps are on, so the download has them");
  assert.deepEqual(page.errors, []);
});

test("abort a running build from its page", async () => {
  const page = await newPage(browser);
  await login(page, server);
  const r = await server.api("POST", "/api/v1/teams/main/pipelines/live/jobs/sleeper/builds");
  assert.equal(r.status, 201);
  await page.goto(`${server.url}/builds/${r.json.id}`);
  await page.locator(".row.line", { hasText: "going to sleep" }).waitFor({ timeout: 60_000 });
  await page.getByRole("button", { name: "Abort" }).click();
  await page.locator('[data-build-status="aborted"]').waitFor({ timeout: 30_000 });
  const build = await server.api("GET", `/api/v1/builds/${r.json.id}`);
  assert.equal(build.json.status, "aborted");
  assert.deepEqual(page.errors, []);
});
