// Draws a laid-out pipeline graph as SVG with pan (drag, arrow keys) and zoom (wheel, +/-,
// buttons); 0 fits the graph. Nodes are links: Tab walks them, Enter opens them.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { STATUS_GLYPH } from "../components";
import { urls } from "../router";
import type { GraphNode, Layout } from "./layout";

interface View { x: number; y: number; k: number }

function jobState(n: GraphNode): { status: string; running: boolean } {
  return { status: n.job?.finished_build?.status ?? "none", running: !!n.job?.next_build };
}

function NodeBox({ n, team, pipeline }: { n: GraphNode; team: string; pipeline: string }) {
  if (n.kind === "resource") {
    const r = n.resource!;
    const marks = `${r.pinned_version_id ? " 📌" : ""}${r.check_error ? " ⚠" : ""}`;
    const label = `resource ${n.name} (${r.type})${r.pinned_version_id ? ", pinned" : ""}${r.check_error ? ", check failing" : ""}`;
    return (
      <a href={urls.resource(team, pipeline, n.name)} class={`node resource${r.check_error ? " check-error" : ""}`}
        aria-label={label} data-node={n.id}>
        <title>{label}</title>
        <rect x={n.x} y={n.y} width={n.width} height={n.height} rx={n.height / 2} />
        <text x={n.x + n.width / 2} y={n.y + n.height / 2 + 4} text-anchor="middle">{n.name}{marks}</text>
      </a>
    );
  }
  const { status, running } = jobState(n);
  const paused = n.job?.paused;
  const label = `job ${n.name}: ${status === "none" ? "no builds yet" : status}${running ? ", running" : ""}${paused ? ", paused" : ""}`;
  return (
    <a href={urls.job(team, pipeline, n.name)} class={`node job status-${status}${running ? " running" : ""}`}
      aria-label={label} data-node={n.id} data-status={status} data-running={running ? "true" : "false"}>
      <title>{label}</title>
      <rect x={n.x} y={n.y} width={n.width} height={n.height} rx={4} />
      <text class="glyph" x={n.x + 14} y={n.y + n.height / 2 + 5} text-anchor="middle">
        {paused ? STATUS_GLYPH.paused : running ? STATUS_GLYPH.started : STATUS_GLYPH[status]}
      </text>
      <text x={n.x + 28} y={n.y + n.height / 2 + 5}>{n.name}</text>
    </a>
  );
}

function fit(layout: Layout, el: HTMLElement | null): View {
  const w = el?.clientWidth || 800, h = el?.clientHeight || 500;
  const k = Math.min(1.5, Math.max(0.05, Math.min(w / (layout.width || 1), h / (layout.height || 1))));
  return { k, x: (w - layout.width * k) / 2, y: (h - layout.height * k) / 2 };
}

export function GraphView({ layout, team, pipeline }: { layout: Layout; team: string; pipeline: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState<View>({ x: 0, y: 0, k: 1 });
  const drag = useRef<{ x: number; y: number; vx: number; vy: number } | null>(null);
  const shape = `${layout.width}x${layout.height}:${layout.nodes.length}`;
  useEffect(() => setView(fit(layout, box.current)), [shape]);

  const zoom = (factor: number, cx?: number, cy?: number) => setView((v) => {
    const k = Math.min(4, Math.max(0.05, v.k * factor));
    const px = cx ?? (box.current?.clientWidth ?? 0) / 2, py = cy ?? (box.current?.clientHeight ?? 0) / 2;
    return { k, x: px - ((px - v.x) * k) / v.k, y: py - ((py - v.y) * k) / v.k };
  });
  const edges = useMemo(() => layout.edges.map((e) => (
    <path key={`${e.from}->${e.to}`} class={`edge${e.trigger ? " trigger" : " no-trigger"}`}
      data-from={e.from} data-to={e.to}
      d={e.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join("")}
      marker-end="url(#arrow)" />
  )), [layout]);

  return (
    <div class="graph-box" ref={box} tabIndex={0} role="region"
      aria-label="Pipeline graph: arrow keys pan, + and - zoom, 0 fits; Tab moves between jobs and resources"
      onKeyDown={(e) => {
        if (e.target !== box.current) return;
        const step = 60;
        const moves: Record<string, [number, number]> = {
          ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
        if (moves[e.key]) { e.preventDefault(); const [dx, dy] = moves[e.key]; setView((v) => ({ ...v, x: v.x + dx, y: v.y + dy })); }
        else if (e.key === "+" || e.key === "=") zoom(1.2);
        else if (e.key === "-") zoom(1 / 1.2);
        else if (e.key === "0") setView(fit(layout, box.current));
      }}
      onWheel={(e) => {
        e.preventDefault();
        const r = box.current!.getBoundingClientRect();
        zoom(Math.exp(-e.deltaY / 500), e.clientX - r.left, e.clientY - r.top);
      }}
      onPointerDown={(e) => {
        if ((e.target as Element).closest("a")) return;
        drag.current = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
      }}
      onPointerMove={(e) => {
        const d = drag.current;
        if (d) setView((v) => ({ ...v, x: d.vx + e.clientX - d.x, y: d.vy + e.clientY - d.y }));
      }}
      onPointerUp={() => { drag.current = null; }}>
      <div class="zoom-buttons">
        <button type="button" onClick={() => zoom(1.2)} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => zoom(1 / 1.2)} aria-label="Zoom out">−</button>
        <button type="button" onClick={() => setView(fit(layout, box.current))} aria-label="Fit the graph">⤢</button>
      </div>
      <svg class="graph" width="100%" height="100%">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0L10,5L0,10z" class="arrow-head" />
          </marker>
        </defs>
        <g transform={`translate(${view.x},${view.y}) scale(${view.k})`}>
          <g class="edges">{edges}</g>
          <g class="nodes">{layout.nodes.map((n) => <NodeBox key={n.id} n={n} team={team} pipeline={pipeline} />)}</g>
        </g>
      </svg>
    </div>
  );
}
