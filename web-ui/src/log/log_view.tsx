// The build's step tree and log as one virtual list: only the rows on screen (plus a margin)
// exist in the DOM, each a fixed height, so a 200,000-line log scrolls like a 20-line one.
import Anser from "anser";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { formatDuration, STATUS_GLYPH } from "../components";
import type { BuildLog, TreeNode } from "./build_log";

export const ROW_HEIGHT = 18;
const OVERSCAN = 30;

function AnsiText({ text, query }: { text: string; query: string }) {
  if (!text.includes("\u001b")) return <Highlight text={text} query={query} />;
  const parts = Anser.ansiToJson(text, { use_classes: true, remove_empty: true });
  return (
    <>{parts.map((p, i) => {
      const cls = [p.fg && `${p.fg}-fg`, p.bg && `${p.bg}-bg`, ...(p.decorations ?? []).map((d) => `ansi-${d}`)].filter(Boolean).join(" ");
      return <span key={i} class={cls || undefined}><Highlight text={p.content} query={query} /></span>;
    })}</>
  );
}

function Highlight({ text, query }: { text: string; query: string }) {
  if (!query) return <>{text}</>;
  const lower = text.toLowerCase();
  const out = [];
  let from = 0, at: number;
  while ((at = lower.indexOf(query, from)) >= 0) {
    out.push(text.slice(from, at), <mark key={at}>{text.slice(at, at + query.length)}</mark>);
    from = at + query.length;
  }
  out.push(text.slice(from));
  return <>{out}</>;
}

function clock(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function NodeRow({ log, node, onToggle }: { log: BuildLog; node: TreeNode; onToggle: (n: TreeNode) => void }) {
  const status = log.nodeStatus(node);
  const run = node.runs[node.runs.length - 1];
  const duration = run?.start ? formatDuration((run.end || Date.now()) - run.start) : "";
  return (
    <div class={`row node depth-${Math.min(node.depth, 6)} step-${status}`} style={{ paddingLeft: `${node.depth * 16 + 4}px` }}>
      {node.leaf ? (
        <button type="button" class="toggle" aria-expanded={node.expanded} onClick={() => onToggle(node)}>
          <span aria-hidden="true">{node.expanded ? "▾" : "▸"}</span> {node.label}
        </button>
      ) : <span class="structure">{node.label}</span>}
      {status && <span class={`status status-${status} small`}><span aria-hidden="true">{STATUS_GLYPH[status] ?? ""}</span> {status}</span>}
      {duration && <span class="duration">{duration}</span>}
      {run?.exitCode !== undefined && run.exitCode !== 0 && <span class="exit">exit {run.exitCode}</span>}
      {run?.message && <span class="message">{run.message}</span>}
      <span class="count">{node.lines.length ? `${node.lines.length} lines` : ""}</span>
    </div>
  );
}

export function LogView({ log, rows, timestamps, query, scrollToRow, follow, jump, onToggle, onScrolled }: {
  log: BuildLog; rows: Int32Array; timestamps: boolean; query: string; scrollToRow: number | null;
  follow: boolean; jump: number; onToggle: (n: TreeNode) => void; onScrolled: (atEnd: boolean) => void;
}) {
  // Where we last scrolled to ourselves: scroll events from there are ours, not the reader's,
  // and must not turn following off while lines keep arriving.
  const ownScroll = useRef(-1);
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useLayoutEffect(() => {
    const el = box.current!;
    if (scrollToRow !== null) el.scrollTop = Math.max(0, scrollToRow * ROW_HEIGHT - el.clientHeight / 2);
    else if (follow) el.scrollTop = el.scrollHeight;
    ownScroll.current = el.scrollTop;
    setTop(el.scrollTop);
  }, [rows, scrollToRow, follow, jump]);
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
  const shown = [];
  for (let r = first; r < last; r++) {
    const v = rows[r];
    if (v < 0) {
      shown.push(<div key={`n${v}`} style={{ top: `${r * ROW_HEIGHT}px` }} class="slot"><NodeRow log={log} node={log.nodes[-v - 1]} onToggle={onToggle} /></div>);
    } else {
      const s = log.stream[v];
      shown.push(
        <div key={v} style={{ top: `${r * ROW_HEIGHT}px` }} class={`slot row line${s === 1 ? " stderr" : s === 2 ? " system" : ""}${r === scrollToRow ? " current" : ""}`} data-line={v}>
          {timestamps && <span class="ts">{clock(log.time[v])}</span>}
          <span class="text"><AnsiText text={log.text[v]} query={query} /></span>
        </div>);
    }
  }
  return (
    <div class="log" ref={box} tabIndex={0} role="log" aria-label="Build steps and log" aria-live="off"
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        setTop(el.scrollTop);
        if (Math.abs(el.scrollTop - ownScroll.current) < 1) return;
        onScrolled(el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT * 2);
      }}>
      <div class="log-space" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>{shown}</div>
    </div>
  );
}
