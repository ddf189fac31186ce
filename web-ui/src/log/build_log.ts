// A build's event log in memory, shaped for a virtual view: the step tree from the build's plan
// with each leaf's log lines, kept as flat arrays (a 200,000-line log is 200,000 strings and a
// few typed arrays, not 200,000 objects).

export interface BuildEvent { seq: number; time: number; origin: string; type: string; stream?: string; payload: string }

export interface StepRun {
  id: string; name: string; type: string; path: string; status: string; start: number; end: number;
  exitCode?: number; message?: string; attempt?: number; hook?: string;
}

// A node of the step tree: a leaf step (get/put/task/...) or a structure (in_parallel, do, try, hooks).
export interface TreeNode {
  key: number; depth: number; label: string; kind: string; path: string;
  leaf: boolean; runs: StepRun[]; lines: number[]; expanded: boolean;
}

const FINAL = new Set(["succeeded", "failed", "errored", "aborted"]);
const LEAF_KINDS = ["get", "put", "task", "load_var", "set_pipeline"];

export class BuildLog {
  nodes: TreeNode[] = [];
  text: string[] = [];
  time: number[] = [];
  stream: Uint8Array = new Uint8Array(1024);  // 0 stdout, 1 stderr, 2 system
  status = "pending";
  ended = false;  // the event stream ended: everything there is, is here
  lastSeq = 0;
  version = 0;  // bumps on every change, for renders
  private byPath = new Map<string, TreeNode>();
  private byOrigin = new Map<string, TreeNode>();
  private runs = new Map<string, StepRun>();

  constructor(plan: any | null) {
    this.addNode(0, "build", "build", "", true);  // lines of the build itself (origin "")
    this.byOrigin.set("", this.nodes[0]);
    if (plan?.plan) this.walk(plan.plan, 0);
    for (const hook of ["on_success", "on_failure", "on_error", "on_abort", "ensure"]) {
      if (plan?.[hook]) { this.addNode(0, hook, hook, "", false); this.walkStep(plan[hook], 1); }
    }
  }

  private addNode(depth: number, label: string, kind: string, path: string, leaf: boolean): TreeNode {
    const n: TreeNode = { key: this.nodes.length, depth, label, kind, path, leaf, runs: [], lines: [], expanded: true };
    this.nodes.push(n);
    if (leaf && path) this.byPath.set(path, n);
    return n;
  }

  private walk(steps: any[], depth: number) { for (const s of steps) this.walkStep(s, depth); }

  private walkStep(s: any, depth: number) {
    if (!s) return;
    const kind = Object.keys(s).find((k) => LEAF_KINDS.includes(k) || ["in_parallel", "do", "try"].includes(k));
    if (!kind) return;
    const body = s[kind];
    if (LEAF_KINDS.includes(kind)) {
      const label = `${kind.replace("_", " ")}: ${body.name}${s.across ? " (across)" : ""}${s.attempts ? ` ×${s.attempts}` : ""}`;
      this.addNode(depth, label, kind, s.path ?? "", true);
    } else {
      this.addNode(depth, kind.replace("_", " "), kind, s.path ?? "", false);
      if (kind === "in_parallel") this.walk(body.steps ?? [], depth + 1);
      else if (kind === "do") this.walk(body ?? [], depth + 1);
      else this.walkStep(body, depth + 1);
    }
    for (const hook of ["on_success", "on_failure", "on_error", "on_abort", "ensure"]) {
      if (s[hook]) { this.addNode(depth + 1, hook, hook, "", false); this.walkStep(s[hook], depth + 2); }
    }
  }

  // The tree node a step's events belong to: its plan leaf by path, else a node made for it.
  private nodeFor(run: StepRun): TreeNode {
    let n = this.byPath.get(run.path);
    if (!n) { n = this.addNode(0, `${run.type}: ${run.name}`, run.type, "", true); if (run.path) this.byPath.set(run.path, n); }
    return n;
  }

  apply(e: BuildEvent) {
    this.lastSeq = Math.max(this.lastSeq, e.seq);
    if (e.type === "log") return this.addLine(e);
    if (e.type === "status") {
      // Replaying a finished build's log must not make it look running again.
      if (!(FINAL.has(this.status) && !FINAL.has(e.payload))) this.status = e.payload;
      this.version++;
      return;
    }
    if (e.type === "step-start" || e.type === "step-finish") {
      let info: any = {};
      try { info = JSON.parse(e.payload); } catch { return; }
      let run = this.runs.get(info.id);
      if (!run) {
        run = { id: info.id, name: info.name, type: info.type, path: info.path ?? "", status: "started", start: e.time, end: 0,
          attempt: info.attempt, hook: info.hook };
        this.runs.set(info.id, run);
        const node = this.nodeFor(run);
        node.runs.push(run);
        this.byOrigin.set(info.id, node);
      }
      if (e.type === "step-finish") {
        run.status = info.status ?? "succeeded"; run.end = e.time; run.exitCode = info.exit_code; run.message = info.message;
      }
      this.version++;
    }
  }

  // A log event's payload is one line or a run of whole lines joined by "\n" (no trailing newline).
  private addLine(e: BuildEvent) {
    const lines = e.payload.split("\n");
    const kind = e.stream === "stderr" ? 1 : e.stream === "system" ? 2 : 0;
    const node = this.byOrigin.get(e.origin) ?? this.nodes[0];
    for (const line of lines) {
      const i = this.text.length;
      if (i >= this.stream.length) { const s = new Uint8Array(this.stream.length * 2); s.set(this.stream); this.stream = s; }
      this.text.push(line);
      this.time.push(e.time);
      this.stream[i] = kind;
      node.lines.push(i);
    }
    this.version++;
  }

  finished(): boolean { return FINAL.has(this.status); }

  // The rows to show, in order: -(node key + 1) for a node's header, else a line index.
  // The build node's header is left out while it has no lines.
  rows(into?: Int32Array): Int32Array {
    let count = 0;
    for (const n of this.nodes) count += (n.key === 0 && n.lines.length === 0 ? 0 : 1) + (n.expanded ? n.lines.length : 0);
    const out = into && into.length >= count ? into.subarray(0, count) : new Int32Array(count);
    let k = 0;
    for (const n of this.nodes) {
      if (n.key === 0 && n.lines.length === 0) continue;
      out[k++] = -(n.key + 1);
      if (n.expanded) { out.set(n.lines, k); k += n.lines.length; }
    }
    return out;
  }

  // Status of a tree node: of its last run, or derived from its children for structures.
  nodeStatus(n: TreeNode): string {
    if (n.runs.length) return n.runs[n.runs.length - 1].status;
    return n.leaf ? (this.finished() ? "skipped" : "pending") : "";
  }

  // Every line in arrival order, for the raw download.
  rawText(timestamps: boolean): string {
    if (!timestamps) return this.text.join("\n") + "\n";
    return this.text.map((t, i) => `${new Date(this.time[i]).toISOString()} ${t}`).join("\n") + "\n";
  }
}
