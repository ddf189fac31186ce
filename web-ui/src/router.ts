// A small history router: the URL is the state, so every page has a deep link that survives a
// reload (the server answers index.html for any path without a file extension).
import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();

export function navigate(to: string, replace = false) {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to); else history.pushState(null, "", to);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// Matches "/teams/:team/pipelines/:pipeline" against a path; params are decoded.
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split("/").filter(Boolean);
  const xs = path.split("/").filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(":")) out[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return out;
}

// Same-origin left clicks on links navigate without a page load.
export function interceptLinks(root: HTMLElement) {
  root.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const href = a.getAttribute("href") ?? a.getAttribute("xlink:href");
    if (!href || !href.startsWith("/") || href.startsWith("/api/")) return;
    e.preventDefault();
    navigate(href);
  });
}

const enc = encodeURIComponent;
export const urls = {
  dashboard: () => "/",
  pipeline: (t: string, p: string, group?: string) =>
    `/teams/${enc(t)}/pipelines/${enc(p)}${group ? `?group=${enc(group)}` : ""}`,
  yaml: (t: string, p: string) => `/teams/${enc(t)}/pipelines/${enc(p)}/yaml`,
  job: (t: string, p: string, j: string) => `/teams/${enc(t)}/pipelines/${enc(p)}/jobs/${enc(j)}`,
  build: (id: number) => `/builds/${id}`,
  resource: (t: string, p: string, r: string) =>
    `/teams/${enc(t)}/pipelines/${enc(p)}/resources/${enc(r)}`,
};
