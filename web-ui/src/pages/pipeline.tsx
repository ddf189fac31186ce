// The pipeline graph: jobs and resources from GET .../overview, re-read every 3 s; the layout
// is recomputed only when the graph's shape changes, statuses are patched in place.
import { useEffect, useMemo, useState } from "preact/hooks";
import { get, Overview, pipelinePath, Session } from "../api";
import { ErrorBox, Loading, usePoll, useReadyMarks } from "../components";
import { layoutGraphAsync, Layout } from "../graph/layout";
import { GraphView } from "../graph/graph_view";
import { urls, useLocation } from "../router";
import { PipelineHeader } from "./pipeline_nav";

function shapeOf(o: Overview, group: string): string {
  return group + "|" + o.jobs.map((j) => `${j.name}<${JSON.stringify(j.inputs)}>${JSON.stringify(j.outputs)}`).join(";") +
    "|" + o.resources.map((r) => r.name).join(",") + "|" + JSON.stringify(o.groups);
}

export function PipelinePage({ team, pipeline, session }: { team: string; pipeline: string; session: Session }) {
  const { query } = useLocation();
  const { data, error, reload } = usePoll(() => get<Overview>(`${pipelinePath(team, pipeline)}/overview`), 3000, [team, pipeline]);
  const group = query.get("group") ?? data?.groups[0]?.name ?? "";
  const shape = data ? shapeOf(data, group) : "";
  const [base, setBase] = useState<Layout | null>(null);
  useEffect(() => setBase(null), [team, pipeline]);
  useEffect(() => {
    if (!data) return;
    let current = true;
    layoutGraphAsync(data, group).then((l) => { if (current) setBase(l); });
    return () => { current = false; };
  }, [shape]);
  const layout = useMemo<Layout | null>(() => {
    if (!base || !data) return null;
    const jobs = new Map(data.jobs.map((j) => [j.name, j]));
    const resources = new Map(data.resources.map((r) => [r.name, r]));
    return { ...base, nodes: base.nodes.map((n) => ({ ...n, job: jobs.get(n.name) ?? n.job, resource: resources.get(n.name) ?? n.resource })) };
  }, [base, data]);
  useEffect(() => { document.title = `${pipeline} · Baton`; }, [pipeline]);
  useReadyMarks("graph", !!layout);
  return (
    <main id="main" class="pipeline">
      <PipelineHeader team={team} pipeline={pipeline} info={data?.pipeline ?? null} session={session} tab="graph" onChange={reload} />
      {data && data.groups.length > 0 && (
        <nav class="tabs groups" aria-label="Groups">
          {data.groups.map((g) => (
            <a key={g.name} href={urls.pipeline(team, pipeline, g.name)} aria-current={g.name === group ? "page" : undefined}>{g.name}</a>
          ))}
        </nav>
      )}
      <ErrorBox error={error} />
      {(!data || !layout) && !error && <Loading />}
      {layout && <GraphView layout={layout} team={team} pipeline={pipeline} />}
      {data && (
        <p class="legend">
          <span><svg width="30" height="8" aria-hidden="true"><path class="edge trigger" d="M0,4L30,4" /></svg> triggers</span>
          <span><svg width="30" height="8" aria-hidden="true"><path class="edge no-trigger" d="M0,4L30,4" /></svg> does not trigger</span>
          <span>✓ succeeded · ✗ failed · ! errored · ⊘ aborted · ● running · ‖ paused · – no builds</span>
        </p>
      )}
    </main>
  );
}
