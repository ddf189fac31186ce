// Every pipeline of the team as a card with its jobs' statuses, filterable, updated every 5 s
// from one request (GET /api/v1/teams/:team/dashboard).
import { useState } from "preact/hooks";
import { DashboardCard, get, Job, Session, teamPath } from "../api";
import { ErrorBox, Loading, PageTitle, STATUS_GLYPH, usePoll, useReadyMarks } from "../components";
import { urls } from "../router";

export function jobStatus(j: Job): string {
  return j.finished_build?.status ?? "none";
}

function JobMark({ team, pipeline, job }: { team: string; pipeline: string; job: Job }) {
  const status = jobStatus(job);
  const running = !!job.next_build;
  const label = `${job.name}: ${status}${running ? ", running" : ""}${job.paused ? ", paused" : ""}`;
  return (
    <a class={`job-mark status-${status}${running ? " running" : ""}`} href={urls.job(team, pipeline, job.name)}
      title={label} aria-label={label}>
      <span aria-hidden="true">{running ? STATUS_GLYPH.started : STATUS_GLYPH[status]}</span>
    </a>
  );
}

function Card({ card }: { card: DashboardCard }) {
  const failing = card.jobs.filter((j) => ["failed", "errored"].includes(jobStatus(j))).length;
  const running = card.jobs.filter((j) => j.next_build).length;
  return (
    <li class={`card${card.paused ? " paused" : ""}`}>
      <h2><a href={urls.pipeline(card.team_name, card.name)}>{card.name}</a></h2>
      <p class="marks">
        {card.paused && <span class="tag">‖ paused</span>}
        {card.public && <span class="tag">public</span>}
        <span class="summary">{card.jobs.length} jobs{failing ? `, ${failing} failing` : ""}
          {running ? `, ${running} running` : ""}</span>
      </p>
      <div class="job-marks">
        {card.jobs.map((j) => <JobMark key={j.id} team={card.team_name} pipeline={card.name} job={j} />)}
      </div>
    </li>
  );
}

export function Dashboard({ session }: { session: Session }) {
  const team = session.team ?? "main";
  const [filter, setFilter] = useState(new URLSearchParams(location.search).get("search") ?? "");
  const { data, error } = usePoll(() => get<DashboardCard[]>(`${teamPath(team)}/dashboard`), 5000, [team]);
  useReadyMarks("dashboard", !!data);
  const shown = (data ?? []).filter((c) => c.name.toLowerCase().includes(filter.toLowerCase()));
  return (
    <main id="main" class="dashboard">
      <PageTitle title="Pipelines">Pipelines</PageTitle>
      {!session.authenticated && <p class="hint">Showing public pipelines. <a href="/login">Log in</a> for all of team main's.</p>}
      <label class="filter">Filter by name{" "}
        <input type="search" value={filter} onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setFilter(v);
          history.replaceState(null, "", v ? `/?search=${encodeURIComponent(v)}` : "/");
        }} />
      </label>
      <ErrorBox error={error} />
      {!data && !error ? <Loading /> : (
        <>
          <p class="count" aria-live="polite">{shown.length} of {data?.length ?? 0} pipelines</p>
          <ul class="cards">{shown.map((c) => <Card key={c.id} card={c} />)}</ul>
          {data?.length === 0 && <p>No pipelines yet: <code>baton set-pipeline -p NAME -c pipeline.yml</code>.</p>}
        </>
      )}
    </main>
  );
}
