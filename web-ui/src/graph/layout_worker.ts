// Lays big graphs out off the main thread, so a 500-job pipeline's page answers input while
// dagre works (see layout.ts).
import { layoutGraph } from "./layout";

self.onmessage = (e: MessageEvent) => {
  const { overview, group } = e.data;
  (self as unknown as Worker).postMessage(layoutGraph(overview, group));
};
