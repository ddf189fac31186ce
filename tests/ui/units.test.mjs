// The UI's pure logic without a browser: the YAML path finder behind completion and hover,
// the graph's edges (Concourse's picture), and the build log's rows. The TypeScript is bundled
// with the UI's own esbuild and imported here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const SOURCE_DIR = process.env.BATON_SOURCE_DIR ?? resolve(new URL(".", import.meta.url).pathname, "../..");
const require = createRequire(join(SOURCE_DIR, "web-ui/package.json"));
const esbuild = require("esbuild");

async function load(file) {
  const out = await esbuild.build({ entryPoints: [join(SOURCE_DIR, "web-ui/src", file)], bundle: true, write: false, format: "esm", platform: "neutral", logLevel: "silent" });
  return import("data:text/javascript;base64," + Buffer.from(out.outputFiles[0].text).toString("base64"));
}

const { mappingPath, SchemaIndex } = await load("editor/schema_help.ts");
const { graphEdges } = await load("graph/layout.ts");
const { BuildLog } = await load("log/build_log.ts");

test("mappingPath finds the mapping a key is typed in", () => {
  const lines = ["jobs:", "- name: a", "  plan:", "  - get: src", "    trig", "  - in_parallel:", "    - task: t", "      fi", "  seri"];
  assert.deepEqual(mappingPath(lines, 4), ["jobs", 0, "plan", 0]);
  assert.deepEqual(mappingPath(lines, 7), ["jobs", 0, "plan", 0, "in_parallel", 0]);
  assert.deepEqual(mappingPath(lines, 8), ["jobs", 0]);
  assert.deepEqual(mappingPath(["resources:", "  - name: r", "    ty"], 2), ["resources", 0]);
  assert.deepEqual(mappingPath(["gro"], 0), []);
});

test("the schema index follows $ref and anyOf to the keys of a mapping", () => {
  const schema = {
    type: "object", properties: { jobs: { type: "array", items: { $ref: "#/$defs/job" } } },
    $defs: { job: { type: "object", properties: { name: { description: "the job's name" }, plan: { type: "array", items: { $ref: "#/$defs/step" } } } },
      step: { anyOf: [{ properties: { get: {}, trigger: { description: "start on new versions" } } }, { properties: { task: {} } }] } },
  };
  const index = new SchemaIndex(schema);
  assert.deepEqual(index.keys(["jobs", 0]).map((k) => k.key), ["name", "plan"]);
  assert.deepEqual(index.keys(["jobs", 0, "plan", 0]).map((k) => k.key).sort(), ["get", "task", "trigger"]);
  assert.equal(index.hover(["jobs", 0, "plan", 0], "trigger"), "start on new versions");
});

test("graph edges: resource to job without passed, job to job with it, solid when any input triggers", () => {
  const jobs = [
    { name: "a", inputs: [{ name: "src", resource: "src", passed: [], trigger: true }], outputs: [{ name: "out", resource: "out" }] },
    { name: "b", inputs: [{ name: "src", resource: "src", passed: ["a"], trigger: false }, { name: "out", resource: "out", passed: ["a"], trigger: true }] },
    { name: "c", inputs: [{ name: "src", resource: "src", passed: ["a"], trigger: false }, { name: "tool", resource: "tool", passed: [], trigger: false }] },
  ];
  const resources = ["src", "out", "tool"].map((name) => ({ name }));
  assert.deepEqual(graphEdges(jobs, resources), [
    { from: "resource:src", to: "job:a", trigger: true },
    { from: "job:a", to: "resource:out", trigger: true },
    { from: "job:a", to: "job:b", trigger: true },
    { from: "job:a", to: "job:c", trigger: false },
    { from: "resource:tool", to: "job:c", trigger: false },
  ]);
});

test("the build log puts each step's lines under its plan step and hides collapsed ones", () => {
  const plan = { plan: [{ get: { name: "src" }, path: "jobs.j.plan[0]" }, { in_parallel: { steps: [{ task: { name: "t" }, path: "jobs.j.plan[1].in_parallel[0]" }] } }] };
  const log = new BuildLog(plan);
  let seq = 0;
  const ev = (type, origin, payload, stream) => log.apply({ seq: ++seq, time: 1000 + seq, origin, type, stream, payload });
  ev("status", "", "started");
  ev("step-start", "s1", JSON.stringify({ id: "s1", name: "src", type: "get", path: "jobs.j.plan[0]" }));
  ev("log", "s1", "fetched abc", "system");
  ev("step-start", "s2", JSON.stringify({ id: "s2", name: "t", type: "task", path: "jobs.j.plan[1].in_parallel[0]" }));
  ev("log", "s2", "hello", "stdout");
  ev("log", "s2", "oops", "stderr");
  ev("step-finish", "s2", JSON.stringify({ id: "s2", name: "t", type: "task", path: "jobs.j.plan[1].in_parallel[0]", status: "failed", exit_code: 1 }));
  ev("status", "", "failed");
  // rows: get header, its line, in_parallel header, task header, its two lines (the empty build node is left out)
  assert.deepEqual([...log.rows()], [-2, 0, -3, -4, 1, 2]);
  assert.equal(log.nodeStatus(log.nodes[3]), "failed");
  assert.equal(log.stream[2], 1);
  log.nodes[3].expanded = false;
  assert.deepEqual([...log.rows()], [-2, 0, -3, -4]);
  ev("status", "", "started");  // a replayed older status does not make it run again
  assert.equal(log.status, "failed");
  assert.equal(log.rawText(false), "fetched abc\nhello\noops\n");
});

test("a log event holding a run of lines shows one row per line; a one-line event is one row", () => {
  const log = new BuildLog({ plan: [{ task: { name: "t" }, path: "jobs.j.plan[0]" }] });
  let seq = 0;
  const ev = (type, origin, payload, stream) => log.apply({ seq: ++seq, time: 1000 + seq, origin, type, stream, payload });
  ev("step-start", "s1", JSON.stringify({ id: "s1", name: "t", type: "task", path: "jobs.j.plan[0]" }));
  ev("log", "s1", "one\ntwo\n\nfour", "stdout");  // a run (as written since issue 16): four lines, one empty
  ev("log", "s1", "err", "stderr");  // one line (every event written before runs)
  ev("log", "s1", "", "stdout");  // an empty line
  assert.deepEqual(log.text, ["one", "two", "", "four", "err", ""]);
  assert.deepEqual([...log.rows()], [-2, 0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...log.stream.subarray(0, 6)], [0, 0, 0, 0, 1, 0]);
  assert.deepEqual(log.time, [1002, 1002, 1002, 1002, 1003, 1004]);
  assert.equal(log.rawText(false), "one\ntwo\n\nfour\nerr\n\n");
});

const { insertSample, setField, selectionAt } = await load("editor/edit_doc.ts");
const { SAMPLES } = await load("editor/samples.ts");

test("a sample job is appended as text: the rest of the file keeps its bytes", () => {
  const text = "# my pipeline\nresources:\n- name: source   # the repo\n  type: git\n  source: {uri: x}\n\njobs:\n- name: hello\n  plan:\n  - get: source\n";
  const { text: out, name } = insertSample(text, SAMPLES.find((s) => s.id === "unit-test"));
  assert.equal(name, "unit-test");
  assert.ok(out.startsWith("# my pipeline\nresources:\n- name: source   # the repo\n  type: git\n  source: {uri: x}\n- name: binaries\n"), out);
  assert.ok(out.includes("\njobs:\n- name: hello\n  plan:\n  - get: source\n- name: unit-test\n  plan:\n  - in_parallel:\n"), out);
  assert.equal(insertSample(out, SAMPLES.find((s) => s.id === "unit-test")).name, "unit-test-2");
  // This pipeline has no compile job: the sample's `passed: [compile]` is left out.
  assert.ok(!out.includes("passed"), out);
  const withCompile = insertSample(text.replace("name: hello", "name: compile"), SAMPLES.find((s) => s.id === "unit-test")).text;
  assert.ok(withCompile.includes("passed:\n      - compile"), withCompile);
});

test("the properties panel edits a field in place", () => {
  const text = "jobs:\n- name: a\n  serial: false   # keep\n  plan:\n  - get: src\n    trigger: false\n";
  const sel = selectionAt(text, text.indexOf("get: src"));
  assert.equal(sel.kind, "step");
  const trigger = sel.fields.find((f) => f.key === "trigger");
  assert.equal(setField(text, sel.path, trigger, true), text.replace("trigger: false", "trigger: true"));
  const job = selectionAt(text, text.indexOf("serial"));
  assert.equal(job.kind, "job");
  const rename = setField(text, job.path, job.fields.find((f) => f.key === "name"), "b");
  assert.equal(rename, text.replace("name: a", "name: b"));
});
