// The app shell: session, header, and which page the URL names.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { loadSession, logout, Session, setUnauthorizedHandler } from "./api";
import { interceptLinks, match, navigate, urls, useLocation } from "./router";
import { Dashboard } from "./pages/dashboard";
import { LoginPage } from "./pages/login";
import { PipelinePage } from "./pages/pipeline";
import { JobPage } from "./pages/job";
import { BuildPage } from "./pages/build";
import { ResourcePage } from "./pages/resource";
import type { FunctionComponent } from "preact";

// The YAML tab (CodeMirror, the yaml library, diff) is loaded on first use, so the other pages
// start without it.
let yamlPage: Promise<FunctionComponent<any>> | null = null;
function YamlPage(props: { team: string; pipeline: string; session: Session }) {
  const [Page, setPage] = useState<FunctionComponent<any> | null>(null);
  useEffect(() => {
    (yamlPage ??= import("./pages/yaml").then((m) => m.YamlPage)).then((p) => setPage(() => p));
  }, []);
  return Page ? <Page {...props} /> : <main id="main"><p class="loading">Loading the editor…</p></main>;
}

function Page({ path, session }: { path: string; session: Session }) {
  let m: any;
  if (path === "/") return <Dashboard session={session} />;
  if (path === "/login") return <LoginPage />;
  if ((m = match("/teams/:team/pipelines/:pipeline", path))) return <PipelinePage {...m} session={session} />;
  if ((m = match("/teams/:team/pipelines/:pipeline/yaml", path))) return <YamlPage {...m} session={session} />;
  if ((m = match("/teams/:team/pipelines/:pipeline/jobs/:job", path))) return <JobPage {...m} session={session} />;
  if ((m = match("/teams/:team/pipelines/:pipeline/resources/:resource", path)))
    return <ResourcePage {...m} session={session} />;
  if ((m = match("/builds/:id", path))) return <BuildPage id={Number(m.id)} session={session} />;
  return <main id="main"><h1>Not found</h1><p>Nothing here: <a href="/">back to the dashboard</a>.</p></main>;
}

function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<Session | null>(null);
  useEffect(() => { loadSession().then(setSession, () => setSession({ authenticated: false })); }, [path === "/login"]);
  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (location.pathname !== "/login") {
        navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
      }
    });
  }, []);
  if (!session) return null;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={urls.dashboard()} aria-label="Baton: all pipelines">
          <svg aria-hidden="true" width="20" height="20" viewBox="0 0 32 32" class="logo"><rect width="32" height="32" rx="6" fill="#0b57c2"/><path d="M8 25 L24 7" stroke="#fff" stroke-width="3" stroke-linecap="round"/><circle cx="8" cy="25" r="3.5" fill="#fff"/></svg> Baton
        </a>
        <nav aria-label="Account">
          {session.authenticated
            ? <button type="button" class="link" onClick={async () => {
                await logout(); setSession({ authenticated: false }); navigate("/login");
              }}>Log out ({session.team})</button>
            : path !== "/login" && <a href={`/login?next=${encodeURIComponent(path)}`}>Log in</a>}
        </nav>
      </header>
      <Page path={path} session={session} />
    </>
  );
}

const root = document.getElementById("app")!;
interceptLinks(root);
render(<App />, root);
