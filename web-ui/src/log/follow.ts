// Follows GET /api/v1/builds/:id/events with fetch and an SSE parser (rather than EventSource:
// one callback per network chunk, not one DOM event per line, and the resume point is ours).
// After a dropped connection it reconnects with Last-Event-ID, so no line is lost or repeated.
import { createParser } from "eventsource-parser";
import type { BuildEvent } from "./build_log";

export interface Follower { stop(): void }

export function followBuild(id: number, after: () => number, onBatch: (events: BuildEvent[]) => void,
                            isDone: () => boolean, onError: (message: string) => void,
                            onEnd: () => void): Follower {
  let stopped = false;
  let controller = new AbortController();
  const run = async (attempt: number) => {
    const batch: BuildEvent[] = [];
    const parser = createParser({ onEvent: (m) => { try { batch.push(JSON.parse(m.data)); } catch { /* keep-alive */ } } });
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (after() > 0) headers["Last-Event-ID"] = String(after());
      const res = await fetch(`/api/v1/builds/${id}/events`, { headers, signal: controller.signal, credentials: "same-origin" });
      if (!res.ok || !res.body) { onError(`the build's events answered ${res.status}`); return; }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let since = performance.now();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        if (batch.length) { onBatch(batch.splice(0)); attempt = 0; }
        // A buffered stream resolves read() as microtasks, which would starve painting and
        // input until the whole log is in: give the event loop a turn every few milliseconds.
        if (performance.now() - since > 8) { await new Promise((r) => setTimeout(r, 0)); since = performance.now(); }
      }
    } catch (e) {
      if (stopped) return;
    }
    if (stopped) return;
    if (isDone()) { onEnd(); return; }
    // Dropped before the end: resume after the last event we have, backing off a little.
    setTimeout(() => { if (!stopped) { controller = new AbortController(); run(attempt + 1); } }, Math.min(5000, 250 * 2 ** attempt));
  };
  run(0);
  return { stop() { stopped = true; controller.abort(); } };
}
