// The YAML editor: CodeMirror 6 with YAML highlighting, schema completion and hover, and the
// server's own validator as the linter (file:line:col diagnostics in the gutter).
import { autocompletion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { bracketMatching, defaultHighlightStyle, foldGutter, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { Diagnostic as CmDiagnostic, linter, lintGutter } from "@codemirror/lint";
import { EditorState, Extension } from "@codemirror/state";
import { EditorView, highlightActiveLine, hoverTooltip, keymap, lineNumbers } from "@codemirror/view";
import type { Diagnostic } from "../api";
import { mappingPath, SchemaIndex } from "./schema_help";

export type Validate = (text: string) => Promise<Diagnostic[]>;

function completion(schema: () => SchemaIndex | null) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const index = schema();
    if (!index) return null;
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, ctx.pos - line.from);
    const m = /^(\s*(?:-\s+)?)([A-Za-z0-9_.-]*)$/.exec(before);
    if (!m || (!ctx.explicit && m[2] === "")) return null;
    const lines = ctx.state.doc.toString().split("\n");
    const path = mappingPath(lines, line.number - 1, m[1].length);
    const keys = index.keys(path);
    if (!keys.length) return null;
    return {
      from: ctx.pos - m[2].length,
      options: keys.map((k) => ({ label: k.key, type: "property", info: k.description || undefined, apply: `${k.key}: ` })),
      validFor: /^[A-Za-z0-9_.-]*$/,
    };
  };
}

function hover(schema: () => SchemaIndex | null) {
  return hoverTooltip((view, pos) => {
    const index = schema();
    if (!index) return null;
    const line = view.state.doc.lineAt(pos);
    const m = /^(\s*(?:-\s+)?)([A-Za-z0-9_.-]+)\s*:/.exec(line.text);
    if (!m) return null;
    const start = line.from + m[1].length, end = start + m[2].length;
    if (pos < start || pos > end) return null;
    const path = mappingPath(view.state.doc.toString().split("\n"), line.number - 1);
    const text = index.hover(path, m[2]);
    if (!text) return null;
    return { pos: start, end, above: true, create: () => {
      const dom = document.createElement("div");
      dom.className = "schema-hover";
      dom.textContent = `${m[2]}: ${text}`;
      return { dom };
    } };
  });
}

function toCm(view: EditorView, d: Diagnostic): CmDiagnostic {
  const doc = view.state.doc;
  const line = doc.line(Math.min(Math.max(1, d.line || 1), doc.lines));
  const from = Math.min(line.to, line.from + Math.max(0, (d.column || 1) - 1));
  return { from, to: Math.max(from, line.to), severity: d.severity === "error" ? "error" : "warning",
    message: `${d.line}:${d.column}: ${d.message}${d.hint ? `\n${d.hint}` : ""}`, source: "baton" };
}

export function createEditor(parent: HTMLElement, text: string, opts: {
  schema: () => SchemaIndex | null; validate: Validate; onChange: (text: string) => void; onCursor: (pos: number) => void;
}): EditorView {
  const extensions: Extension[] = [
    lineNumbers(), foldGutter(), lintGutter(), history(), indentOnInput(), bracketMatching(), highlightActiveLine(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }), yaml(),
    keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
    autocompletion({ override: [completion(opts.schema)] }),
    hover(opts.schema),
    linter(async (view) => (await opts.validate(view.state.doc.toString())).map((d) => toCm(view, d)), { delay: 400 }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) opts.onChange(u.state.doc.toString());
      if (u.selectionSet || u.docChanged) opts.onCursor(u.state.selection.main.head);
    }),
    EditorView.contentAttributes.of({ "aria-label": "Pipeline YAML" }),
    EditorState.tabSize.of(2),
  ];
  return new EditorView({ parent, state: EditorState.create({ doc: text, extensions }) });
}

export function replaceAll(view: EditorView, text: string) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
