// Logging in and out, what an anonymous visitor sees (public pipelines only), CSRF on writes,
// deep links that survive a reload, and no console errors.
import { after, before, test } from "node:test";
import { assert, checkAccessibility, launchBrowser, login, newPage, screenshot, Server, waitFor } from "./harness.mjs";

const JOB = (name) => `- name: ${name}\n  plan:\n  - task: hello\n    config:\n      platform: linux\n      run: {path: sh, args: [-c, 'echo hello from ${name}']}\n`;
let server, browser;

before(async () => {
  server = await Server.start("session");
  browser = await launchBrowser();
  await server.setPipeline("open-source", `jobs:\n${JOB("build")}`);
  await server.setPipeline("secret", `jobs:\n${JOB("build")}`);
  assert.equal((await server.api("PUT", "/api/v1/teams/main/pipelines/open-source/expose")).status, 200);
});
after(async () => { await browser?.close(); await server?.stop(); });

test("a wrong token is refused with a message, the right one logs in", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/login`);
  await checkAccessibility(page, "login");
  await screenshot(page, "login");
  await page.getByLabel("Token").fill("not-a-token");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
  page.errors = page.errors.filter((e) => !e.includes("401"));  // the refused login's own answer
  await login(page, server);
  await page.locator(".card").nth(1).waitFor();
  assert.deepEqual(await page.locator(".card h2").allTextContents(), ["open-source", "secret"]);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "baton_session");
  assert.ok(session, "a session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read the session");
  await checkAccessibility(page, "dashboard");
  await screenshot(page, "dashboard");
  assert.deepEqual(page.errors, []);
});

test("anonymous visitors see public pipelines only, and are sent to log in for the rest", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/`);
  await page.locator(".card").first().waitFor();
  assert.deepEqual(await page.locator(".card h2").allTextContents(), ["open-source"]);
  await page.goto(`${server.url}/teams/main/pipelines/open-source`);
  await page.locator('[data-node="job:build"]').waitFor();
  await page.goto(`${server.url}/teams/main/pipelines/secret`);
  await page.waitForURL(/\/login\?next=%2Fteams%2Fmain%2Fpipelines%2Fsecret/);
  page.errors = page.errors.filter((e) => !e.includes("401"));
  assert.deepEqual(page.errors, []);
  const config = await fetch(`${server.url}/api/v1/teams/main/pipelines/open-source/config`);
  assert.equal(config.status, 401, "a public pipeline's config stays private");
});

test("writes with the session cookie need the CSRF token; logout ends the session", async () => {
  const page = await newPage(browser);
  await login(page, server);
  const without = await page.evaluate(async () => (await fetch("/api/v1/teams/main/pipelines/secret/pause", { method: "PUT" })).status);
  assert.equal(without, 403);
  const session = await page.evaluate(async () => (await fetch("/api/v1/session")).json());
  const withToken = await page.evaluate(async (csrf) => (await fetch("/api/v1/teams/main/pipelines/secret/unpause",
    { method: "PUT", headers: { "X-CSRF-Token": csrf } })).status, session.csrf_token);
  assert.equal(withToken, 200);
  page.errors = page.errors.filter((e) => !e.includes("403"));
  await page.getByRole("button", { name: /Log out/ }).click();
  await page.waitForURL(/\/login/);
  const after = await page.evaluate(async () => (await fetch("/api/v1/session")).json());
  assert.equal(after.authenticated, false);
  assert.deepEqual(page.errors, []);
});

test("a deep link works after a reload", async () => {
  const page = await newPage(browser);
  await login(page, server);
  const r = await server.api("POST", "/api/v1/teams/main/pipelines/secret/jobs/build/builds");
  assert.equal(r.status, 201);
  await server.waitForBuild("secret", "build", (b) => b.status === "succeeded", 60_000);
  const url = `${server.url}/builds/${r.json.id}`;
  await page.goto(url);
  await page.locator(".row.line", { hasText: "hello from build" }).waitFor();
  await page.reload();
  await page.locator(".row.line", { hasText: "hello from build" }).waitFor();
  assert.equal(page.url(), url);
  await page.goto(`${server.url}/teams/main/pipelines/secret/jobs/build`);
  await page.reload();
  await page.getByRole("link", { name: "#1" }).waitFor();
  await checkAccessibility(page, "job");
  await screenshot(page, "job");
  assert.deepEqual(page.errors, []);
});
