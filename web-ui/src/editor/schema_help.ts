// Completion and hover for pipeline YAML from the pipeline JSON Schema (`baton schema`, served
// at GET /api/v1/schema/pipeline). The cursor's place is found from indentation, which works
// while the text is half-typed and does not parse.

export type PathSegment = string | number;
type Schema = Record<string, any>;

interface LineShape { indent: number; dash: boolean; col: number; key: string | null }

function shape(line: string): LineShape | null {
  const m = /^(\s*)(-\s+)?(.*)$/.exec(line)!;
  const rest = m[3];
  if (rest.trim() === "" && !m[2]) return null;
  if (rest.trimStart().startsWith("#")) return null;
  const key = /^([A-Za-z0-9_.-]+)\s*:(\s|$)/.exec(rest)?.[1] ?? null;
  const indent = m[1].length;
  return { indent, dash: !!m[2], col: indent + (m[2]?.length ?? 0), key };
}

// The path of the mapping that holds the key being typed on line `lineNo` (0-based) of `lines`,
// e.g. ["jobs", 0, "plan", 0] inside a step. Array indexes are 0: the schema is the same for
// every item.
export function mappingPath(lines: string[], lineNo: number, typedCol?: number): PathSegment[] {
  const path: PathSegment[] = [];
  const here = shape(lines[lineNo]) ?? { indent: typedCol ?? 0, dash: false, col: typedCol ?? 0, key: null };
  let col = here.col;
  let seqDash = here.dash ? here.indent : -1;
  if (here.dash) path.unshift(0);
  for (let i = lineNo - 1; i >= 0; i--) {
    const l = shape(lines[i]);
    if (!l || !l.key && !l.dash) continue;
    if (seqDash >= 0) {
      // Looking for the key that owns the sequence whose dashes are at column seqDash.
      if (l.dash && l.indent === seqDash) continue;
      if (l.col > seqDash || !l.key) continue;
    } else {
      if (l.col > col) continue;
      if (l.col === col) {
        if (l.dash) { path.unshift(0); seqDash = l.indent; }
        continue;
      }
      if (!l.key) continue;
    }
    path.unshift(l.key);
    col = l.col;
    seqDash = -1;
    if (l.dash) { path.unshift(0); seqDash = l.indent; }
  }
  return path;
}

export class SchemaIndex {
  constructor(private root: Schema) {}

  private deref(s: Schema | undefined, seen = 0): Schema | undefined {
    if (!s || seen > 20) return s;
    if (typeof s.$ref === "string" && s.$ref.startsWith("#/")) {
      const target = s.$ref.slice(2).split("/").reduce((o: any, k: string) => o?.[k], this.root);
      return this.deref({ ...target, ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$ref")) }, seen + 1);
    }
    return s;
  }

  // Every alternative a schema may take (anyOf/oneOf/allOf flattened), dereferenced.
  private branches(s: Schema | undefined, depth = 0): Schema[] {
    const d = this.deref(s);
    if (!d || depth > 10) return [];
    const subs = [...(d.anyOf ?? []), ...(d.oneOf ?? []), ...(d.allOf ?? [])];
    return [d, ...subs.flatMap((x: Schema) => this.branches(x, depth + 1))];
  }

  at(path: PathSegment[]): Schema[] {
    let current: Schema[] = [this.root];
    for (const seg of path) {
      const next: Schema[] = [];
      for (const s of current.flatMap((c) => this.branches(c))) {
        if (typeof seg === "number") { if (s.items) next.push(s.items); }
        else if (s.properties?.[seg]) next.push(s.properties[seg]);
      }
      current = next;
    }
    return current;
  }

  // The keys a mapping at `path` may have, with their descriptions.
  keys(path: PathSegment[]): { key: string; description: string }[] {
    const out = new Map<string, string>();
    for (const s of this.at(path).flatMap((x) => this.branches(x))) {
      for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) {
        if (!out.has(k) || !out.get(k)) out.set(k, this.describe(v));
      }
    }
    return [...out.entries()].map(([key, description]) => ({ key, description }));
  }

  describe(s: Schema | undefined): string {
    for (const b of this.branches(s)) if (b.description) return b.description;
    return "";
  }

  // The description of `key` in the mapping at `path`.
  hover(path: PathSegment[], key: string): string {
    return this.keys(path).find((k) => k.key === key)?.description ?? "";
  }
}
