// The pipeline's header: name, pause/unpause, and the Graph / YAML tabs.
import { Pipeline, pipelinePath, request, Session } from "../api";
import { ActionButton } from "../components";
import { urls } from "../router";

export function PipelineHeader({ team, pipeline, info, session, tab, onChange }: {
  team: string; pipeline: string; info: Pipeline | null; session: Session; tab: "graph" | "yaml";
  onChange?: () => void;
}) {
  return (
    <div class="page-head">
      <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Pipelines</a> / </nav>
      <h1>{pipeline}{info?.paused && <span class="tag">‖ paused</span>}{info?.public && <span class="tag">public</span>}</h1>
      {session.authenticated && info && (
        <ActionButton label={info.paused ? "Unpause pipeline" : "Pause pipeline"}
          run={async () => { await request("PUT", `${pipelinePath(team, pipeline)}/${info.paused ? "unpause" : "pause"}`); onChange?.(); }} />
      )}
      <nav class="tabs" aria-label="Pipeline views">
        <a href={urls.pipeline(team, pipeline)} aria-current={tab === "graph" ? "page" : undefined}>Graph</a>
        {session.authenticated && <a href={urls.yaml(team, pipeline)} aria-current={tab === "yaml" ? "page" : undefined}>YAML</a>}
      </nav>
    </div>
  );
}
