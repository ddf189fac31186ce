// The YAML tab: edit the pipeline's config in the browser. Completion and hover come from the
// pipeline schema, diagnostics from the server's validator as you type; sample jobs insert the
// seed stages; the properties panel edits the job or step under the cursor; saving shows the
// diff and sends the config version it started from, so a change made meanwhile is refused
// (409) and shown, exactly as `baton set-pipeline` does.
import type { EditorView } from "@codemirror/view";
import { diffLines } from "diff";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, Diagnostic, get, pipelinePath, request, Session } from "../api";
import { ErrorBox, Loading } from "../components";
import { insertSample, selectionAt, Selection, setField } from "../editor/edit_doc";
import { SAMPLES } from "../editor/samples";
import { SchemaIndex } from "../editor/schema_help";
import { createEditor, replaceAll } from "../editor/yaml_editor";
import { PipelineHeader } from "./pipeline_nav";

interface Config { config: string; vars: Record<string, unknown>; version: number }
let schemaCache: Promise<SchemaIndex> | null = null;
const loadSchema = () => (schemaCache ??= get<object>("/api/v1/schema/pipeline").then((s) => new SchemaIndex(s as any)));

export function Diff({ from, to }: { from: string; to: string }) {
  const parts = diffLines(from, to);
  if (!parts.some((p) => p.added || p.removed)) return <p>No changes.</p>;
  return (
    <pre class="diff" aria-label="Changes">{parts.map((p, i) => {
      const mark = p.added ? "+" : p.removed ? "-" : " ";
      const lines = p.value.replace(/\n$/, "").split("\n");
      const shown = !p.added && !p.removed && lines.length > 6 ? [...lines.slice(0, 3), "…", ...lines.slice(-3)] : lines;
      return <span key={i} class={p.added ? "added" : p.removed ? "removed" : "same"}>{shown.map((l) => `${mark} ${l}\n`).join("")}</span>;
    })}</pre>
  );
}

function Properties({ selection, onSet }: { selection: Selection | null; onSet: (f: Selection["fields"][0], v: string | boolean) => void }) {
  if (!selection) return <aside class="properties" aria-label="Properties"><h2>Properties</h2><p>Put the cursor in a job or a step to edit its common fields.</p></aside>;
  return (
    <aside class="properties" aria-label="Properties">
      <h2>Properties: {selection.title}</h2>
      <form onSubmit={(e) => e.preventDefault()}>
        {selection.fields.map((f) => (
          <div class="field" key={selection.path.join(".") + f.key}>
            {f.type === "bool" ? (
              <label><input type="checkbox" checked={f.value as boolean} onChange={(e) => onSet(f, (e.target as HTMLInputElement).checked)} /> {f.label}</label>
            ) : (
              <label>{f.label}<input type={f.type === "int" ? "number" : "text"} defaultValue={String(f.value)}
                onChange={(e) => onSet(f, (e.target as HTMLInputElement).value)} /></label>
            )}
          </div>
        ))}
      </form>
    </aside>
  );
}

export function YamlPage({ team, pipeline, session }: { team: string; pipeline: string; session: Session }) {
  const base = pipelinePath(team, pipeline);
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const schema = useRef<SchemaIndex | null>(null);
  const [loaded, setLoaded] = useState<Config | null>(null);
  const [text, setText] = useState("");
  const [problems, setProblems] = useState<Diagnostic[]>([]);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [review, setReview] = useState(false);
  const [conflict, setConflict] = useState<Config | null>(null);
  const [message, setMessage] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [sample, setSample] = useState(SAMPLES[0].id);

  useEffect(() => {
    document.title = `${pipeline} YAML · Baton`;
    loadSchema().then((s) => { schema.current = s; }, () => {});
    get<Config>(`${base}/config`).then((c) => { setLoaded(c); setText(c.config); }, setError);
  }, [base]);
  useEffect(() => {
    if (!loaded || !host.current || view.current) return;
    view.current = createEditor(host.current, loaded.config, {
      schema: () => schema.current,
      validate: async (t) => {
        const r = await request<{ errors: Diagnostic[]; warnings: Diagnostic[] }>("POST", `${base}/config/validate`, { config: t, vars: loaded.vars });
        const all = [...r.errors, ...r.warnings];
        setProblems(all);
        return all;
      },
      onChange: setText,
      onCursor: (pos) => { try { setSelection(selectionAt(view.current!.state.doc.toString(), pos)); } catch { setSelection(null); } },
    });
    return () => { view.current?.destroy(); view.current = null; };
  }, [loaded]);

  const save = async (expected: number) => {
    setError(null); setMessage("");
    try {
      const saved = await request<{ config_version: number }>("PUT", `${base}/config`, { config: text, vars: loaded!.vars, expected_version: expected });
      setLoaded({ ...loaded!, config: text, version: saved.config_version });
      setReview(false); setConflict(null);
      setMessage(`Saved: config version ${saved.config_version}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setConflict(await get<Config>(`${base}/config`)); setReview(false);
      } else { setError(e as Error); setReview(false); }
    }
  };
  const edit = (next: string) => { if (view.current) replaceAll(view.current, next); };

  if (!session.authenticated) return <main id="main"><p>Log in to edit pipelines.</p></main>;
  return (
    <main id="main" class="yaml-page">
      <PipelineHeader team={team} pipeline={pipeline} info={null} session={session} tab="yaml" />
      <ErrorBox error={error} />
      {!loaded && !error && <Loading />}
      <div class="yaml-tools" role="toolbar" aria-label="Editing">
        <label>Sample job{" "}
          <select value={sample} onChange={(e) => setSample((e.target as HTMLSelectElement).value)}>
            {SAMPLES.map((s) => <option key={s.id} value={s.id}>{s.label}</option>)}
          </select>
        </label>
        <button type="button" disabled={!loaded} onClick={() => {
          try { const r = insertSample(text, SAMPLES.find((s) => s.id === sample)!); edit(r.text); setMessage(`Inserted job ${r.name}.`); }
          catch (e) { setError(e as Error); }
        }}>Insert sample job</button>
        <button type="button" class="primary" disabled={!loaded || text === loaded?.config} onClick={() => setReview(true)}>Review and save…</button>
        <span class="version">{loaded && `config version ${loaded.version}`}</span>
        <span role="status" class="message">{message}</span>
      </div>
      <div class="yaml-work">
        <div class="editor" ref={host} />
        <Properties selection={selection} onSet={(f, v) => { if (selection) edit(setField(text, selection.path, f, v)); }} />
      </div>
      <section class="problems" aria-labelledby="problems-h">
        <h2 id="problems-h">Problems ({problems.length})</h2>
        {problems.length === 0 ? <p>The server's validator finds nothing wrong.</p> : (
          <ul>{problems.map((p, i) => (
            <li key={i} class={`problem ${p.severity}`} data-line={p.line}>
              <button type="button" class="link" onClick={() => {
                const v = view.current; if (!v) return;
                const line = v.state.doc.line(Math.min(Math.max(1, p.line), v.state.doc.lines));
                v.dispatch({ selection: { anchor: line.from }, scrollIntoView: true }); v.focus();
              }}>{p.severity === "error" ? "✗" : "!"} {pipeline}.yml:{p.line}:{p.column}</button>: {p.message}{p.hint && <span class="hint"> ({p.hint})</span>}
            </li>))}
          </ul>)}
      </section>
      {review && loaded && (
        <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="review-h">
          <h2 id="review-h">Save these changes?</h2>
          <Diff from={loaded.config} to={text} />
          <button type="button" class="primary" onClick={() => save(loaded.version)}>Save</button>
          <button type="button" onClick={() => setReview(false)}>Cancel</button>
        </div>
      )}
      {conflict && loaded && (
        <div class="dialog conflict" role="alertdialog" aria-modal="true" aria-labelledby="conflict-h">
          <h2 id="conflict-h">Not saved: the pipeline changed since you opened it</h2>
          <p>You started from config version {loaded.version}; the server now has version {conflict.version}.
            Here is how your text differs from the server's:</p>
          <Diff from={conflict.config} to={text} />
          <button type="button" onClick={() => { setLoaded(null); view.current?.destroy(); view.current = null; setConflict(null); setLoaded(conflict); setText(conflict.config); }}>Discard mine, load theirs</button>
          <button type="button" class="danger" onClick={() => save(conflict.version)}>Save mine over theirs</button>
          <button type="button" onClick={() => setConflict(null)}>Keep editing</button>
        </div>
      )}
    </main>
  );
}
