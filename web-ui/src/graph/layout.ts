// The pipeline as a graph: jobs and resources as nodes, laid out left to right by dagre.
// Edges follow Concourse's picture (and `baton graph`): a resource feeds the jobs that get it
// without `passed:`, a `passed: [a]` get draws a -> job, a put draws job -> resource; an edge
// is solid when the get has `trigger: true` and dashed otherwise.
import dagre from "@dagrejs/dagre";
import type { Job, Overview, Resource } from "../api";

export interface GraphNode {
  id: string; kind: "job" | "resource"; name: string; x: number; y: number; width: number;
  height: number; job?: Job; resource?: Resource;
}
export interface GraphEdge { from: string; to: string; trigger: boolean; points: { x: number; y: number }[] }
export interface Layout { nodes: GraphNode[]; edges: GraphEdge[]; width: number; height: number }

const CHAR_WIDTH = 7.4;
const JOB_HEIGHT = 40;
const RESOURCE_HEIGHT = 28;
const LARGE_GRAPH = 150;  // nodes

// Lays the graph out in a Web Worker when it is big (the page stays interactive meanwhile),
// on the main thread otherwise or when no worker can start.
export function layoutGraphAsync(o: Overview, group: string): Promise<Layout> {
  const url = document.querySelector<HTMLMetaElement>('meta[name="baton-layout-worker"]')?.content;
  const { jobs, resources } = visibleParts(o, group);
  if (!url || typeof Worker === "undefined" || jobs.length + resources.length <= LARGE_GRAPH) {
    return Promise.resolve(layoutGraph(o, group));
  }
  return new Promise((resolve) => {
    const worker = new Worker(url, { type: "module" });
    const done = (layout: Layout) => { worker.terminate(); resolve(layout); };
    worker.onmessage = (e) => done(e.data as Layout);
    worker.onerror = (e) => { e.preventDefault(); done(layoutGraph(o, group)); };
    worker.postMessage({ overview: o, group });
  });
}

const jobId = (n: string) => `job:${n}`;
const resourceId = (n: string) => `resource:${n}`;

// The jobs and resources shown for a group ("" = all).
export function visibleParts(o: Overview, group: string): { jobs: Job[]; resources: Resource[] } {
  const g = o.groups.find((x) => x.name === group);
  if (!g) return { jobs: o.jobs, resources: o.resources };
  const jobs = o.jobs.filter((j) => g.jobs.includes(j.name));
  const used = new Set<string>(g.resources);
  if (g.resources.length === 0) {
    for (const j of jobs) {
      j.inputs?.forEach((i) => i.passed.length === 0 && used.add(i.resource));
      j.outputs?.forEach((out) => used.add(out.resource));
    }
  }
  return { jobs, resources: o.resources.filter((r) => used.has(r.name)) };
}

interface PlainEdge { from: string; to: string; trigger: boolean }

export function graphEdges(jobs: Job[], resources: Resource[]): PlainEdge[] {
  const jobNames = new Set(jobs.map((j) => j.name));
  const resourceNames = new Set(resources.map((r) => r.name));
  const seen = new Map<string, PlainEdge>();
  const add = (from: string, to: string, trigger: boolean) => {
    const key = `${from}->${to}`;
    const old = seen.get(key);
    if (!old) seen.set(key, { from, to, trigger });
    else old.trigger ||= trigger;  // one triggering input makes the edge solid
  };
  for (const j of jobs) {
    for (const input of j.inputs ?? []) {
      if (input.passed.length === 0) {
        if (resourceNames.has(input.resource)) add(resourceId(input.resource), jobId(j.name), input.trigger);
      } else {
        for (const up of input.passed) if (jobNames.has(up)) add(jobId(up), jobId(j.name), input.trigger);
      }
    }
    for (const out of j.outputs ?? []) {
      if (resourceNames.has(out.resource)) add(jobId(j.name), resourceId(out.resource), true);
    }
  }
  return [...seen.values()];
}

export function layoutGraph(o: Overview, group: string): Layout {
  const { jobs, resources } = visibleParts(o, group);
  const g = new dagre.graphlib.Graph();
  // network-simplex ranks best but costs ~2 s of CPU at 500 jobs; tight-tree is ~4x cheaper and
  // close in quality on pipelines (mostly layered already), so big graphs take it.
  const ranker = jobs.length + resources.length > LARGE_GRAPH ? "tight-tree" : "network-simplex";
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 60, marginx: 20, marginy: 20, ranker });
  g.setDefaultEdgeLabel(() => ({}));
  for (const j of jobs) {
    g.setNode(jobId(j.name), { width: Math.max(90, j.name.length * CHAR_WIDTH + 44), height: JOB_HEIGHT });
  }
  const edges = graphEdges(jobs, resources);
  const linked = new Set(edges.flatMap((e) => [e.from, e.to]));
  // Resources no shown job touches would float alone: leave them to the resource list.
  const shownResources = resources.filter((r) => linked.has(resourceId(r.name)));
  for (const r of shownResources) {
    g.setNode(resourceId(r.name), { width: Math.max(70, r.name.length * 6.6 + 24), height: RESOURCE_HEIGHT });
  }
  for (const e of edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const nodes: GraphNode[] = [];
  for (const j of jobs) nodes.push(place(g, jobId(j.name), "job", j.name, { job: j }));
  for (const r of shownResources) nodes.push(place(g, resourceId(r.name), "resource", r.name, { resource: r }));
  const laidEdges = edges.map((e) => ({ ...e, points: (g.edge(e.from, e.to) as any).points ?? [] }));
  const label = g.graph() as { width?: number; height?: number };
  return { nodes, edges: laidEdges, width: label.width ?? 0, height: label.height ?? 0 };
}

function place(g: InstanceType<typeof dagre.graphlib.Graph>, id: string, kind: GraphNode["kind"], name: string,
               extra: Partial<GraphNode>): GraphNode {
  const n = g.node(id) as { x: number; y: number; width: number; height: number };
  return { id, kind, name, x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, ...extra };
}
