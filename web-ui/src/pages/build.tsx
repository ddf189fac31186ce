// A build: its step tree and live log (SSE with resume), abort, rerun, timestamps on demand,
// search, and the raw log as a download.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, Build, get, request, Session } from "../api";
import { ActionButton, buildDuration, ErrorBox, formatTime, Loading, StatusBadge } from "../components";
import { BuildLog, TreeNode } from "../log/build_log";
import { followBuild } from "../log/follow";
import { LogView } from "../log/log_view";
import { navigate, urls } from "../router";

function useBuildLog(id: number) {
  const [build, setBuild] = useState<Build | null>(null);
  const [log, setLog] = useState<BuildLog | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [, setTick] = useState(0);
  useEffect(() => {
    let frame = 0, stopped = false;
    let follower: { stop(): void } | null = null;
    setLog(null); setBuild(null); setError(null);
    (async () => {
      try {
        // The record and the plan in parallel: the log waits on both, and each is a round trip.
        const [b, plan] = await Promise.all([
          get<Build>(`/api/v1/builds/${id}`),
          get<any>(`/api/v1/builds/${id}/plan`).catch((e) => {
            if (e instanceof ApiError && e.status === 404) return null;  // one-off builds have no plan
            throw e;
          }),
        ]);
        if (stopped) return;
        const l = new BuildLog(plan);
        l.status = b.status;
        setBuild(b); setLog(l);
        follower = followBuild(id, () => l.lastSeq, (events) => {
          for (const e of events) l.apply(e);
          if (!frame) frame = requestAnimationFrame(() => { frame = 0; setTick((t) => t + 1); });
        }, () => l.finished(), (m) => setError(new Error(m)), () => { l.ended = true; l.version++; setTick((t) => t + 1); });
      } catch (e) { setError(e as Error); }
    })();
    return () => { stopped = true; follower?.stop(); cancelAnimationFrame(frame); };
  }, [id]);
  // The build record (end time, error) is re-read when the log says the status changed.
  const status = log?.status;
  useEffect(() => { if (build && status && status !== build.status) get<Build>(`/api/v1/builds/${id}`).then(setBuild, () => {}); }, [status]);
  return { build, log, error };
}

function download(log: BuildLog, id: number, timestamps: boolean) {
  const url = URL.createObjectURL(new Blob([log.rawText(timestamps)], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url; a.download = `build-${id}.log`;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function BuildPage({ id, session }: { id: number; session: Session }) {
  const { build, log, error } = useBuildLog(id);
  const [timestamps, setTimestamps] = useState(false);
  const [query, setQuery] = useState("");
  const [matches, setMatches] = useState<number[]>([]);
  const [current, setCurrent] = useState(-1);
  const [follow, setFollow] = useState(true);
  const [toggles, setToggles] = useState(0);
  const [jump, setJump] = useState(0);
  const buffer = useRef<Int32Array | undefined>(undefined);
  const version = log?.version ?? -1;
  const rows = useMemo(() => (log ? (buffer.current = log.rows()) : new Int32Array()), [log, version, toggles]);
  const status = log?.status ?? build?.status ?? "pending";
  useEffect(() => { document.title = build ? `${build.pipeline_name || "one-off"}/${build.job_name} #${build.name} · Baton` : "Build · Baton"; }, [build]);
  useEffect(() => {
    if (log && log.text.length > 0 && !performance.getEntriesByName("log-first-lines").length) performance.mark("log-first-lines");
    if (log?.finished() && log.ended && !performance.getEntriesByName("log-complete").length) { performance.mark("log-complete"); document.body.dataset.logComplete = "true"; }
  }, [version]);

  const search = (q: string) => {
    setQuery(q);
    if (!log || !q) { setMatches([]); setCurrent(-1); return; }
    const found: number[] = [];
    for (let r = 0; r < rows.length; r++) if (rows[r] >= 0 && log.text[rows[r]].toLowerCase().includes(q)) found.push(r);
    setMatches(found); setCurrent(found.length ? 0 : -1); setFollow(false);
  };
  const step = (d: number) => { if (matches.length) setCurrent((c) => (c + d + matches.length) % matches.length); };
  const onToggle = (n: TreeNode) => { n.expanded = !n.expanded; setToggles((t) => t + 1); };
  const running = status === "pending" || status === "started";

  return (
    <main id="main" class="build">
      {build && (
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Pipelines</a> /{" "}
          {build.pipeline_name && <><a href={urls.pipeline(build.team_name, build.pipeline_name)}>{build.pipeline_name}</a> / </>}
          {build.pipeline_name && <a href={urls.job(build.team_name, build.pipeline_name, build.job_name)}>{build.job_name}</a>}
        </nav>
      )}
      <div class="build-head">
        <h1>{build ? `${build.job_name || "one-off"} #${build.name}` : `Build ${id}`}</h1>
        <span data-build-status={status}><StatusBadge status={status} /></span>
        {build && <span class="times">started {formatTime(build.start_time) || "–"} · {buildDuration(build)}</span>}
        {session.authenticated && running && (
          <ActionButton label="Abort" danger run={() => request("PUT", `/api/v1/builds/${id}/abort`)} />)}
        {session.authenticated && !running && build?.job_name && (
          <ActionButton label="Rerun" run={async () => { const r = await request<Build>("POST", `/api/v1/builds/${id}/rerun`); navigate(urls.build(r.id)); }} />)}
      </div>
      {build?.error && <div class="error-box" role="alert"><pre>{build.error}</pre></div>}
      {build?.reap_time && <p class="hint">This build's log was deleted by the job's build_log_retention at {formatTime(build.reap_time)}.</p>}
      <ErrorBox error={error} />
      <div class="log-tools" role="toolbar" aria-label="Log tools">
        <label><input type="checkbox" checked={timestamps} onChange={(e) => setTimestamps((e.target as HTMLInputElement).checked)} /> Timestamps</label>
        <form role="search" onSubmit={(e) => { e.preventDefault(); step(1); }}>
          <label for="log-search">Search the log</label>
          <input id="log-search" type="search" value={query}
            onInput={(e) => search((e.target as HTMLInputElement).value.toLowerCase())}
            onKeyDown={(e) => { if (e.key === "Enter" && e.shiftKey) { e.preventDefault(); step(-1); } }} />
          <span class="matches" aria-live="polite">{query ? (matches.length ? `${current + 1} of ${matches.length}` : "no match") : ""}</span>
          <button type="button" onClick={() => step(-1)} disabled={!matches.length} aria-label="Previous match">↑</button>
          <button type="button" onClick={() => step(1)} disabled={!matches.length} aria-label="Next match">↓</button>
        </form>
        <button type="button" onClick={() => { setCurrent(-1); setFollow(true); setJump((j) => j + 1); }}>Jump to end</button>
        <button type="button" disabled={!log} onClick={() => log && download(log, id, timestamps)}>Download raw log</button>
        <span class="line-count">{log ? `${log.text.length.toLocaleString()} lines` : ""}</span>
      </div>
      {!log && !error && <Loading />}
      {log && (
        <LogView log={log} rows={rows} timestamps={timestamps} query={query}
          scrollToRow={current >= 0 ? matches[current] : null} follow={follow && current < 0} jump={jump}
          onToggle={onToggle} onScrolled={(atEnd) => { if (current < 0) setFollow(atEnd); }} />
      )}
    </main>
  );
}
