import { useState } from "preact/hooks";
import { login } from "../api";
import { ErrorBox, PageTitle } from "../components";
import { navigate, useLocation } from "../router";

export function LoginPage() {
  const { query } = useLocation();
  const [token, setToken] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const next = query.get("next") ?? "/";
  return (
    <main id="main" class="login">
      <PageTitle title="Log in">Log in</PageTitle>
      <p>Paste an API token: <code>baton quickstart</code> prints the admin token once and keeps it
        in <code>&lt;data-dir&gt;/admin-token</code>.</p>
      <form onSubmit={async (e) => {
        e.preventDefault(); setError(null);
        try { await login(token.trim()); navigate(next.startsWith("/") ? next : "/", true); }
        catch (err) { setError(err as Error); }
      }}>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required
          value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit">Log in</button>
      </form>
      <ErrorBox error={error} />
      <p class="hint">Public pipelines are readable without logging in: <a href="/">dashboard</a>.</p>
    </main>
  );
}
