// Pieces every page uses: status marks (a glyph and a word, never colour alone), times,
// polling while the tab is visible, error boxes.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";

export const STATUS_GLYPH: Record<string, string> = {
  succeeded: "✓", failed: "✗", errored: "!", aborted: "⊘", started: "●", pending: "◌",
  paused: "‖", none: "–",
};

export function StatusBadge({ status, small }: { status: string; small?: boolean }) {
  return (
    <span class={`status status-${status}${small ? " small" : ""}`}>
      <span class="glyph" aria-hidden="true">{STATUS_GLYPH[status] ?? "?"}</span>
      <span class="word">{status}</span>
    </span>
  );
}

export function formatTime(rfc3339: string): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return "";
  const s = Math.round(ms / 100) / 10;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function buildDuration(b: { start_time: string; end_time: string }, now = Date.now()): string {
  if (!b.start_time) return "";
  const end = b.end_time ? Date.parse(b.end_time) : now;
  return formatDuration(end - Date.parse(b.start_time));
}

// Calls `load` now and every `ms` while the page is visible; returns its latest result.
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[]):
    { data: T | null; error: ApiError | Error | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => { setData(null); setError(null); }, deps);
  useEffect(() => {
    let alive = true;
    let timer = 0;
    const run = async () => {
      if (document.visibilityState === "visible") {
        try { const d = await loadRef.current(); if (alive) { setData(d); setError(null); } }
        catch (e) { if (alive) setError(e as Error); }
      }
      if (alive && ms > 0) timer = window.setTimeout(run, ms);
    };
    run();
    return () => { alive = false; clearTimeout(timer); };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox({ error }: { error: Error | null }) {
  if (!error) return null;
  const detail = error instanceof ApiError ? `${error.error}: ${error.detail}` : error.message;
  return <div class="error-box" role="alert"><pre>{detail}</pre></div>;
}

export function Loading() { return <p class="loading" aria-live="polite">Loading…</p>; }

export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  useEffect(() => { document.title = `${title} · Baton`; }, [title]);
  return <h1>{children}</h1>;
}

// Runs an action, disabling the button meanwhile and showing its error.
export function ActionButton({ label, run, danger, disabled, title }: {
  label: string; run: () => Promise<unknown>; danger?: boolean; disabled?: boolean; title?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  return (
    <span class="action">
      <button type="button" class={danger ? "danger" : ""} disabled={busy || disabled} title={title}
        onClick={async () => {
          setBusy(true); setError(null);
          try { await run(); } catch (e) { setError(e as Error); } finally { setBusy(false); }
        }}>{busy ? `${label}…` : label}</button>
      {error && <span class="inline-error" role="alert">{error.message}</span>}
    </span>
  );
}

// Marks `${name}-ready` when a page first shows its data, and `${name}-interactive` at the
// first idle moment after (the main thread free to answer input): what the W9 numbers time.
export function useReadyMarks(name: string, ready: boolean) {
  useEffect(() => {
    if (!ready || performance.getEntriesByName(`${name}-ready`).length) return;
    performance.mark(`${name}-ready`);
    const idle = (window as any).requestIdleCallback ?? ((f: () => void) => setTimeout(f, 0));
    idle(() => performance.mark(`${name}-interactive`));
  }, [ready]);
}
