/** A one-line-ish CodeMirror 6 editor for JSONata expressions, completing `input.`, `vars.` and
 * `nodes.<id>.` from the nodes upstream of the edited node and their output schemas / pinned data. */
import { useMemo } from "react";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { autocompletion, type CompletionContext } from "@codemirror/autocomplete";
import { javascript } from "@codemirror/lang-javascript";
import { completionsFor, type GraphLike } from "../lib/completion";
import type { ComponentSpec } from "../lib/types";

export function ExpressionEditor({ value, onChange, graph, nodeId, specs, readOnly, testid, template }: {
  value: string; onChange: (v: string) => void; graph: () => GraphLike; nodeId: string;
  specs: Record<string, ComponentSpec>; readOnly?: boolean; testid?: string; template?: boolean;
}) {
  const extensions = useMemo(() => {
    const source = (ctx: CompletionContext) => {
      const word = ctx.matchBefore(/[A-Za-z_$][\w$.]*$/);
      if (!word || (word.from === word.to && !ctx.explicit)) return null;
      if (template) {
        const before = ctx.state.sliceDoc(0, word.from);
        if (before.lastIndexOf("{{") <= before.lastIndexOf("}}")) return null;
      }
      const text = word.text;
      const dot = text.lastIndexOf(".");
      const options = completionsFor(text, graph(), nodeId, specs).map((c) => ({ label: c.label, detail: c.detail, type: "property" }));
      if (!options.length) return null;
      return { from: dot < 0 ? word.from : word.from + dot + 1, options, validFor: /^[\w$]*$/ };
    };
    return [javascript(), autocompletion({ override: [source], activateOnTyping: true }), EditorView.lineWrapping];
  }, [graph, nodeId, specs, template]);
  return (
    <div className="expr" data-testid={testid}>
      <CodeMirror value={value} onChange={onChange} extensions={extensions} readOnly={readOnly} editable={!readOnly}
        basicSetup={{ lineNumbers: false, foldGutter: false, highlightActiveLine: false }} minHeight="32px" maxHeight="160px" />
    </div>
  );
}
