// A job: its builds (polled every 3 s), trigger, pause/unpause, rerun, and each build's inputs.
import { useState } from "preact/hooks";
import { Build, get, Job, jobPath, request, Session } from "../api";
import { ActionButton, buildDuration, ErrorBox, formatTime, Loading, PageTitle, StatusBadge, usePoll } from "../components";
import { navigate, urls } from "../router";

interface BuildResources { inputs: { name: string; version: Record<string, string>; first_occurrence: boolean }[];
  outputs: { name: string; version: Record<string, string> }[] }

function Inputs({ id }: { id: number }) {
  const [data, setData] = useState<BuildResources | null>(null);
  const [error, setError] = useState<Error | null>(null);
  return (
    <details onToggle={(e) => {
      if ((e.target as HTMLDetailsElement).open && !data) get<BuildResources>(`/api/v1/builds/${id}/resources`).then(setData, setError);
    }}>
      <summary>inputs</summary>
      <ErrorBox error={error} />
      {data && (data.inputs.length === 0 ? <p>none</p> : (
        <ul class="versions-inline">{data.inputs.map((i) => (
          <li key={i.name}><strong>{i.name}</strong> {Object.entries(i.version).map(([k, v]) => `${k}: ${v}`).join(", ")}
            {i.first_occurrence && <span class="tag">new</span>}</li>))}
        </ul>))}
    </details>
  );
}

export function JobPage({ team, pipeline, job, session }: { team: string; pipeline: string; job: string; session: Session }) {
  const base = jobPath(team, pipeline, job);
  const info = usePoll(() => get<Job>(base), 3000, [base]);
  const builds = usePoll(() => get<Build[]>(`${base}/builds?limit=50`), 3000, [base]);
  const j = info.data;
  return (
    <main id="main" class="job">
      <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Pipelines</a> / <a href={urls.pipeline(team, pipeline)}>{pipeline}</a> /</nav>
      <PageTitle title={`${pipeline}/${job}`}>{job}{j?.paused && <span class="tag">‖ paused</span>}</PageTitle>
      {session.authenticated && j && (
        <div class="toolbar">
          <ActionButton label="Trigger build" run={async () => {
            const b = await request<Build>("POST", `${base}/builds`);
            navigate(urls.build(b.id));
          }} />
          <ActionButton label={j.paused ? "Unpause job" : "Pause job"} run={async () => {
            await request("PUT", `${base}/${j.paused ? "unpause" : "pause"}`); info.reload();
          }} />
        </div>
      )}
      <ErrorBox error={info.error ?? builds.error} />
      {!builds.data ? <Loading /> : (
        <table class="builds">
          <caption class="visually-hidden">Builds of {job}, newest first</caption>
          <thead><tr><th scope="col">Build</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Inputs</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {builds.data.map((b) => (
              <tr key={b.id}>
                <td><a href={urls.build(b.id)}>#{b.name}</a></td>
                <td><StatusBadge status={b.status} /></td>
                <td>{formatTime(b.start_time)}</td>
                <td>{buildDuration(b)}</td>
                <td><Inputs id={b.id} /></td>
                <td>{session.authenticated && !["pending", "started"].includes(b.status) && (
                  <ActionButton label="Rerun" title={`Rerun #${b.name} with the same inputs`} run={async () => {
                    const r = await request<Build>("POST", `/api/v1/builds/${b.id}/rerun`);
                    navigate(urls.build(r.id));
                  }} />)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {builds.data?.length === 0 && <p>No builds yet.</p>}
    </main>
  );
}
