// Edits of the pipeline YAML through the `yaml` library's document model, which keeps
// comments and each node's style: inserting a sample job, and the properties panel's fields.
import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap } from "yaml";
import type { Sample } from "./samples";

function uniqueName(taken: Set<string>, name: string): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}-${i}`)) return `${name}-${i}`;
}

function names(doc: Document, key: string): Set<string> {
  const seq = doc.get(key);
  const out = new Set<string>();
  if (isSeq(seq)) for (const item of seq.items) if (isMap(item)) out.add(String(item.get("name")));
  return out;
}

// Whether the file indents block sequences under their key ("jobs:\n  - name") or not
// ("jobs:\n- name"), so rewritten text keeps the file's style.
function indentsSequences(text: string): boolean {
  const m = /^[A-Za-z_][^\n]*:[ \t]*\n([ ]*)- /m.exec(text);
  return !!m && m[1].length > 0;
}

function stringify(doc: Document, like: string): string {
  return doc.toString({ lineWidth: 0, indentSeq: indentsSequences(like) });
}

// YAML text for `items` as entries of a block sequence whose dashes are at column `indent`.
function itemsText(items: object[], indent: number): string {
  const pad = " ".repeat(indent);
  return items.map((item) => {
    const body = new Document(item).toString({ indentSeq: false, lineWidth: 0 }).replace(/\n$/, "");
    return body.split("\n").map((l, i) => pad + (i === 0 ? "- " : "  ") + l).join("\n") + "\n";
  }).join("");
}

// `text` with `items` appended to the top-level block sequence `key`, as text: the rest of the
// file is untouched, so the save diff shows only the addition.
function appendToSequence(text: string, key: string, items: object[]): string {
  if (!items.length) return text;
  const doc = parseDocument(text);
  const seq = doc.get(key, true);
  if (isSeq(seq) && seq.items.length && !seq.flow && seq.range) {
    const first = seq.items[0] as { range?: [number, number, number] };
    const start = first.range?.[0] ?? seq.range[0];
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    const indent = Math.max(0, text.lastIndexOf("-", start) - lineStart);
    const lineEnd = text.indexOf("\n", Math.max(0, seq.range[1] - 1));
    const at = lineEnd < 0 ? text.length : lineEnd + 1;
    const before = text.slice(0, at);
    return before + (before.endsWith("\n") ? "" : "\n") + itemsText(items, indent) + text.slice(at);
  }
  if (seq === undefined || seq === null) {
    return text + (text === "" || text.endsWith("\n") ? "" : "\n") + `${key}:\n` + itemsText(items, 0);
  }
  for (const item of items) doc.addIn([key], doc.createNode(item));  // an empty or flow sequence
  return stringify(doc, text);
}

// A copy of `value` whose gets keep only `passed:` jobs that exist (a sample's upstream stage
// may not be in this pipeline; the server would refuse the unknown name).
function onlyKnownUpstreams(value: any, jobs: Set<string>): any {
  if (Array.isArray(value)) return value.map((v) => onlyKnownUpstreams(v, jobs));
  if (!value || typeof value !== "object") return value;
  const out: any = {};
  for (const [k, v] of Object.entries(value)) out[k] = onlyKnownUpstreams(v, jobs);
  if (Array.isArray(out.passed)) {
    out.passed = out.passed.filter((j: string) => jobs.has(j));
    if (!out.passed.length) delete out.passed;
  }
  return out;
}

// The text with `sample`'s job appended to `jobs:` (renamed when its name is taken) and the
// resources it needs that the pipeline lacks; the job's final name.
export function insertSample(text: string, sample: Sample): { text: string; name: string } {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`fix the YAML first: ${doc.errors[0].message}`);
  const resources = names(doc, "resources");
  const name = uniqueName(names(doc, "jobs"), sample.job.name);
  const missing = sample.resources.filter((r) => !resources.has(r.name));
  const withResources = appendToSequence(text, "resources", missing);
  const job = onlyKnownUpstreams({ ...sample.job, name }, names(doc, "jobs"));
  return { text: appendToSequence(withResources, "jobs", [job]), name };
}

export interface Selection { kind: "job" | "step"; path: (string | number)[]; title: string; fields: Field[] }
export interface Field { key: string; label: string; type: "text" | "bool" | "int" | "list"; value: string | boolean }

const JOB_FIELDS: [string, string, Field["type"]][] = [
  ["name", "Name", "text"], ["serial", "Serial", "bool"], ["max_in_flight", "Max in flight", "int"],
  ["public", "Public", "bool"], ["disable_manual_trigger", "Disable manual trigger", "bool"],
];
const STEP_FIELDS: Record<string, [string, string, Field["type"]][]> = {
  get: [["get", "Get", "text"], ["resource", "Resource", "text"], ["passed", "Passed (comma-separated)", "list"], ["trigger", "Trigger", "bool"]],
  put: [["put", "Put", "text"], ["resource", "Resource", "text"]],
  task: [["task", "Task", "text"], ["file", "File", "text"], ["privileged", "Privileged", "bool"]],
};
const COMMON_STEP: [string, string, Field["type"]][] = [["timeout", "Timeout", "text"], ["attempts", "Attempts", "int"]];

function fieldsOf(node: YAMLMap, spec: [string, string, Field["type"]][]): Field[] {
  return spec.map(([key, label, type]) => {
    const v = node.get(key) as any;
    const js = v && typeof v === "object" && "toJSON" in v ? v.toJSON() : v;
    const value = type === "bool" ? js === true : type === "list" ? (Array.isArray(js) ? js.join(", ") : "") : js == null ? "" : String(js);
    return { key, label, type, value };
  });
}

// The job or step whose map holds `offset`: the innermost one.
export function selectionAt(text: string, offset: number): Selection | null {
  const doc = parseDocument(text);
  const jobs = doc.get("jobs");
  if (!isSeq(jobs)) return null;
  for (let j = 0; j < jobs.items.length; j++) {
    const job = jobs.items[j];
    if (!isMap(job) || !job.range || offset < job.range[0] || offset > job.range[2]) continue;
    const step = findStep(job.get("plan"), ["jobs", j, "plan"], offset);
    if (step) return step;
    return { kind: "job", path: ["jobs", j], title: `job ${job.get("name")}`, fields: fieldsOf(job, JOB_FIELDS) };
  }
  return null;
}

function findStep(plan: unknown, path: (string | number)[], offset: number): Selection | null {
  if (!isSeq(plan)) return null;
  for (let i = 0; i < plan.items.length; i++) {
    const s = plan.items[i];
    if (!isMap(s) || !s.range || offset < s.range[0] || offset > s.range[2]) continue;
    for (const nest of ["in_parallel", "do"]) {
      const inner = s.get(nest);
      const steps = isMap(inner) ? inner.get("steps") : inner;
      const found = findStep(steps, [...path, i, nest, ...(isMap(inner) ? ["steps"] : [])], offset);
      if (found) return found;
    }
    const kind = Object.keys(STEP_FIELDS).find((k) => s.has(k));
    if (!kind) return null;
    return { kind: "step", path: [...path, i], title: `${kind} ${s.get(kind)}`, fields: [...fieldsOf(s, STEP_FIELDS[kind]), ...fieldsOf(s, COMMON_STEP)] };
  }
  return null;
}

// The text with field `key` of the node at `path` set (an empty value removes the field). A
// scalar that is there is replaced in place; anything else goes through the document model.
export function setField(text: string, path: (string | number)[], field: Field, value: string | boolean): string {
  const doc = parseDocument(text);
  const at = [...path, field.key];
  const node = doc.getIn(at, true);
  const remove = value === "" || value === false;
  if (isScalar(node) && node.range && !remove && field.type !== "list") {
    const scalar = field.type === "int" ? String(Number(value)) : field.type === "bool" ? "true"
      : new Document(String(value)).toString().trim();
    return text.slice(0, node.range[0]) + scalar + text.slice(node.range[1]);
  }
  if (remove) { if (field.key !== "name") doc.deleteIn(at); }
  else if (field.type === "int") doc.setIn(at, Number(value));
  else if (field.type === "list") doc.setIn(at, doc.createNode(String(value).split(",").map((x) => x.trim()).filter(Boolean), { flow: true }));
  else doc.setIn(at, value);
  return stringify(doc, text);
}
