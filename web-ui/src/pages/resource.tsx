// A resource: its versions with metadata and the builds that used each, check now, pin/unpin
// with a comment, and the last check's error in full.
import { useState } from "preact/hooks";
import { Build, Check, get, pipelinePath, request, Resource, resourcePath, Session, Version } from "../api";
import { ActionButton, ErrorBox, formatTime, Loading, PageTitle, StatusBadge, usePoll } from "../components";
import { urls } from "../router";

function UsedBy({ base, version }: { base: string; version: number }) {
  const [builds, setBuilds] = useState<Build[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  return (
    <details onToggle={(e) => {
      if ((e.target as HTMLDetailsElement).open && !builds) get<Build[]>(`${base}/versions/${version}/input_to`).then(setBuilds, setError);
    }}>
      <summary>builds that used it</summary>
      <ErrorBox error={error} />
      {builds && (builds.length === 0 ? <p>none yet</p> : (
        <ul class="used-by">{builds.map((b) => (
          <li key={b.id}><a href={urls.build(b.id)}>{b.job_name} #{b.name}</a> <StatusBadge status={b.status} small /></li>))}
        </ul>))}
    </details>
  );
}

// Queues a check and waits until it ends; an errored check throws its error for the button.
async function checkNow(base: string): Promise<Check> {
  let check = await request<Check>("POST", `${base}/check`);
  for (let wait = 100; check.status === "pending" || check.status === "started"; wait = Math.min(wait * 2, 1000)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    check = await get<Check>(check.url);
  }
  if (check.status === "errored") throw new Error(check.error ?? "the check errored");
  return check;
}

export function ResourcePage({ team, pipeline, resource, session }: { team: string; pipeline: string; resource: string; session: Session }) {
  const base = resourcePath(team, pipeline, resource);
  const info = usePoll(async () => (await get<Resource[]>(`${pipelinePath(team, pipeline)}/resources`)).find((r) => r.name === resource) ?? null, 5000, [base]);
  const versions = usePoll(() => get<Version[]>(`${base}/versions?limit=100`), 5000, [base]);
  const [comment, setComment] = useState("");
  const r = info.data;
  const reload = () => { info.reload(); versions.reload(); };
  return (
    <main id="main" class="resource">
      <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Pipelines</a> / <a href={urls.pipeline(team, pipeline)}>{pipeline}</a> /</nav>
      <PageTitle title={`${pipeline}/${resource}`}>{resource} {r && <span class="tag">{r.type}</span>}</PageTitle>
      {r && <p class="checked">Last checked: {r.last_checked ? formatTime(r.last_checked) : "never"}</p>}
      {session.authenticated && (
        <div class="toolbar">
          <ActionButton label="Check now" run={async () => { try { await checkNow(base); } finally { reload(); } }} />
          {r?.pinned_version_id ? <ActionButton label="Unpin" run={async () => { await request("PUT", `${base}/unpin`); reload(); }} /> : (
            <label>Pin comment <input type="text" value={comment} placeholder="why this version"
              onInput={(e) => setComment((e.target as HTMLInputElement).value)} /></label>)}
        </div>
      )}
      {r?.pinned_version_id ? (
        <p class="pinned" role="status">📌 Pinned to version {r.pinned_version_id}: jobs use only this version.{r.pin_comment && <> Comment: <q>{r.pin_comment}</q></>}</p>
      ) : null}
      {r?.check_error && (
        <section class="check-error" aria-labelledby="check-error-h">
          <h2 id="check-error-h">⚠ The last check failed</h2>
          <pre>{r.check_error}</pre>
        </section>
      )}
      <ErrorBox error={info.error ?? versions.error} />
      <h2>Versions</h2>
      {!versions.data ? <Loading /> : versions.data.length === 0 ? <p>No versions yet.</p> : (
        <ol class="versions">
          {versions.data.map((v) => (
            <li key={v.id} class={r?.pinned_version_id === v.id ? "pinned-version" : ""} data-version-id={v.id}>
              <div class="version-head">
                <code>{Object.entries(v.version).map(([k, x]) => `${k}: ${x}`).join(", ")}</code>
                <span class="when">{formatTime(v.created_at)}</span>
                {r?.pinned_version_id === v.id && <span class="tag">📌 pinned</span>}
                {session.authenticated && !r?.pinned_version_id && (
                  <ActionButton label="Pin" title="Use only this version" run={async () => {
                    await request("PUT", `${base}/versions/${v.id}/pin`, comment ? { comment } : {}); setComment(""); reload();
                  }} />)}
              </div>
              {v.metadata.length > 0 && (
                <dl class="metadata">{v.metadata.map((m) => <><dt>{m.name}</dt><dd>{m.value}</dd></>)}</dl>)}
              <UsedBy base={base} version={v.id} />
            </li>
          ))}
        </ol>
      )}
    </main>
  );
}
