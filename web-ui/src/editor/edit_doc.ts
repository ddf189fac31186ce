// Edits of the pipeline YAML through the `yaml` library's document model, which keeps
// comments and each node's style: inserting a sample job, and the properties panel's fields.
import { Document, isMap, isSeq, parseDocument, YAMLMap } from "yaml";
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

// The text with `sample`'s job appended to `jobs:` (renamed when its name is taken) and the
// resources it needs that the pipeline lacks; the job's final name.
export function insertSample(text: string, sample: Sample): { text: string; name: string } {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`fix the YAML first: ${doc.errors[0].message}`);
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as any;
  const resources = names(doc, "resources");
  for (const r of sample.resources) {
    if (!resources.has(r.name)) { if (!doc.has("resources")) doc.set("resources", []); doc.addIn(["resources"], doc.createNode(r)); }
  }
  const name = uniqueName(names(doc, "jobs"), sample.job.name);
  if (!doc.has("jobs")) doc.set("jobs", []);
  doc.addIn(["jobs"], doc.createNode({ ...sample.job, name }));
  return { text: doc.toString({ lineWidth: 0 }), name };
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

// The text with field `key` of the node at `path` set (an empty value removes the field).
export function setField(text: string, path: (string | number)[], field: Field, value: string | boolean): string {
  const doc = parseDocument(text);
  const at = [...path, field.key];
  if (value === "" || value === false) { if (field.key !== "name") doc.deleteIn(at); }
  else if (field.type === "int") doc.setIn(at, Number(value));
  else if (field.type === "list") doc.setIn(at, doc.createNode(String(value).split(",").map((x) => x.trim()).filter(Boolean), { flow: true }));
  else doc.setIn(at, value);
  return doc.toString({ lineWidth: 0 });
}
