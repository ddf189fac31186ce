// The public API (docs/api.md) as the UI uses it: JSON over fetch with the session cookie,
// the CSRF header on writes, and one error type carrying the server's {error, detail}.

export interface Build {
  id: number; name: string; status: string; team_name: string; pipeline_name: string;
  job_name: string; created_at: string; start_time: string; end_time: string; error?: string;
  reap_time?: string; rerun_of?: number;
}
export interface Pipeline {
  id: number; name: string; team_name: string; paused: boolean; public: boolean;
  config_version: number; created_at: string;
}
export interface JobInput { name: string; resource: string; passed: string[]; trigger: boolean }
export interface Job {
  id: number; name: string; paused: boolean; next_build_number: number;
  finished_build: Build | null; next_build?: Build | null;
  inputs?: JobInput[]; outputs?: { name: string; resource: string }[];
  disable_manual_trigger?: boolean;
}
export interface Resource {
  id: number; name: string; type: string; pinned_version_id?: number; pin_comment?: string;
  check_error?: string; last_checked?: string;
}
/** A check queued by POST .../resources/:r/check, followed at `url` until it ends. */
export interface Check {
  id: number; resource: string; status: "pending" | "started" | "succeeded" | "errored";
  url: string; new_versions?: number; error?: string;
}
export interface Version {
  id: number; version: Record<string, string>; metadata: { name: string; value: string }[];
  check_order: number; created_at: string;
}
export interface Overview {
  pipeline: Pipeline; groups: { name: string; jobs: string[]; resources: string[] }[];
  jobs: Job[]; resources: Resource[];
}
export interface DashboardCard extends Pipeline { jobs: Job[] }
export interface Diagnostic { severity: string; line: number; column: number; message: string; hint: string }
export interface Session { authenticated: boolean; team?: string; csrf_token?: string }

export class ApiError extends Error {
  constructor(public status: number, public error: string, public detail: string, public body: any) {
    super(detail || error || `HTTP ${status}`);
  }
}

let csrfToken = "";
let onUnauthorized: () => void = () => {};

export function setUnauthorizedHandler(fn: () => void) { onUnauthorized = fn; }

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, json?.error ?? res.statusText, json?.detail ?? text, json);
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>("GET", path);

export async function loadSession(): Promise<Session> {
  const s = await get<Session>("/api/v1/session");
  csrfToken = s.csrf_token ?? "";
  return s;
}
export async function login(token: string): Promise<Session> {
  const s = await request<Session>("POST", "/api/v1/session", { token });
  csrfToken = s.csrf_token ?? "";
  return s;
}
export async function logout(): Promise<void> {
  await request("DELETE", "/api/v1/session");
  csrfToken = "";
}

const enc = encodeURIComponent;
export const teamPath = (team: string) => `/api/v1/teams/${enc(team)}`;
export const pipelinePath = (team: string, p: string) => `${teamPath(team)}/pipelines/${enc(p)}`;
export const jobPath = (team: string, p: string, j: string) => `${pipelinePath(team, p)}/jobs/${enc(j)}`;
export const resourcePath = (team: string, p: string, r: string) =>
  `${pipelinePath(team, p)}/resources/${enc(r)}`;
