import { useMemo, useState } from "react";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import { ReactFlow, ReactFlowProvider, Background } from "@xyflow/react";
import { get } from "../lib/api";
import { toCanvas } from "../lib/mapping";
import type { Definition, JsonObject } from "../lib/types";
import { ErrorBox, Json, Modal, fmtTime, useLoad } from "../ui/common";
import { nodeTypes } from "./NodeView";
import { layout } from "../lib/layout";
import { diffDefinitions } from "../lib/diff";

function DiffGraph({ a, b }: { a: Definition; b: Definition }) {
  const d = diffDefinitions(a, b);
  const merged: Definition = { ...b, nodes: [...b.nodes, ...a.nodes.filter((n) => d.removed.includes(n.id))] };
  const c = toCanvas(merged);
  const nodes = (merged.nodes.every((n) => n.position) ? c.nodes : layout(c.nodes, c.edges)).map((n) => ({
    ...n,
    data: { ...n.data, static: true },
    className: d.added.includes(n.id) ? "diff-added" : d.removed.includes(n.id) ? "diff-removed" : d.changed.includes(n.id) ? "diff-changed" : "",
  }));
  return (
    <div className="diff-graph" data-testid="diff-graph">
      <ReactFlowProvider>
        <ReactFlow nodes={nodes as any} edges={c.edges as any} nodeTypes={nodeTypes} fitView nodesDraggable={false} nodesConnectable={false} proOptions={{ hideAttribution: true }}>
          <Background />
        </ReactFlow>
      </ReactFlowProvider>
      <ul className="diff-summary" data-testid="diff-summary">
        {d.added.map((id) => <li key={"a" + id} className="diff-added">+ node {id}</li>)}
        {d.removed.map((id) => <li key={"r" + id} className="diff-removed">− node {id}</li>)}
        {d.changed.map((id) => <li key={"c" + id} className="diff-changed">~ node {id} changed</li>)}
        {d.edgesAdded.map((e) => <li key={"ea" + e} className="diff-added">+ edge {e}</li>)}
        {d.edgesRemoved.map((e) => <li key={"er" + e} className="diff-removed">− edge {e}</li>)}
        {d.notesChanged.map((t) => <li key={"n" + t} className="diff-changed">{t}</li>)}
        {!d.added.length && !d.removed.length && !d.changed.length && !d.edgesAdded.length && !d.edgesRemoved.length && !d.notesChanged.length ? <li>No difference in nodes, edges or notes.</li> : null}
      </ul>
    </div>
  );
}

export function ConflictDialog({ mine, theirs, onKeepMine, onReload, onClose }: {
  mine: Definition; theirs: { definition: Definition; version: number; updated_at: string; created_by?: string | null };
  onKeepMine: () => void; onReload: () => void; onClose: () => void;
}) {
  const [show, setShow] = useState(false);
  return (
    <Modal title="Someone else saved this workflow" onClose={onClose} testid="conflict-dialog" wide>
      <p>Version {theirs.version} was saved at {fmtTime(theirs.updated_at)} while you were editing. Saving now would overwrite it.</p>
      <div className="row-end">
        <button onClick={() => setShow(!show)} data-testid="conflict-theirs">{show ? "Hide" : "See"} their version</button>
        <button onClick={onReload} data-testid="conflict-reload">Reload theirs (discard mine)</button>
        <button className="primary" onClick={onKeepMine} data-testid="conflict-keep-mine">Keep mine (overwrite)</button>
      </div>
      {show ? <><h3>Their version compared with yours</h3><DiffGraph a={mine} b={theirs.definition} /></> : null}
    </Modal>
  );
}

export function HistoryDialog({ workflowId, current, onRestore, onClose, canRestore }: {
  workflowId: string; current: Definition; onRestore: (def: Definition, version: number) => void; onClose: () => void; canRestore: boolean;
}) {
  const { data: versions, error } = useLoad(() => get<any[]>(`workflows/${workflowId}/versions`), [workflowId]);
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const { data: defs, error: defError } = useLoad(async () => {
    if (a === null) return null;
    const va = await get<any>(`workflows/${workflowId}/versions/${a}`);
    const vb = b === null ? { definition: current } : await get<any>(`workflows/${workflowId}/versions/${b}`);
    return { a: va.definition as Definition, b: vb.definition as Definition };
  }, [a, b]);
  return (
    <Modal title="Version history" onClose={onClose} testid="history-dialog" wide>
      <ErrorBox error={error || defError} />
      <table className="table small">
        <thead><tr><th>Version</th><th>Saved</th><th>By</th><th>Compare</th><th></th></tr></thead>
        <tbody>
          {(versions ?? []).map((v) => (
            <tr key={v.version} data-testid="version-row">
              <td>v{v.version}</td><td>{fmtTime(v.created_at)}</td><td>{v.created_by ?? "—"}</td>
              <td>
                <label className="inline"><input type="radio" name="va" checked={a === v.version} onChange={() => setA(v.version)} data-testid={`compare-a-${v.version}`} /> from</label>{" "}
                <label className="inline"><input type="radio" name="vb" checked={b === v.version} onChange={() => setB(v.version)} data-testid={`compare-b-${v.version}`} /> to</label>
              </td>
              <td>{canRestore ? <button className="small" data-testid={`restore-${v.version}`} onClick={async () => {
                const full = await get<any>(`workflows/${workflowId}/versions/${v.version}`);
                onRestore(full.definition, v.version);
              }}>Restore</button> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Pick a "from" version; "to" defaults to the canvas as it is now.</p>
      {defs ? <DiffGraph a={defs.a} b={defs.b} /> : null}
    </Modal>
  );
}

export function RunDialog({ inputSchema, onRun, onClose, error }: { inputSchema: JsonObject | undefined; onRun: (input: any) => void; onClose: () => void; error: any }) {
  const hasForm = !!inputSchema && Object.keys(inputSchema.properties ?? {}).length > 0;
  const [data, setData] = useState<any>({});
  const [text, setText] = useState("{}");
  const [err, setErr] = useState<string | null>(null);
  const schema = useMemo(() => inputSchema ?? { type: "object" }, [inputSchema]);
  return (
    <Modal title="Run workflow" onClose={onClose} testid="run-dialog">
      {hasForm ? (
        <Form schema={schema} validator={validator} formData={data} onChange={(e) => setData(e.formData)} onSubmit={(e) => onRun(e.formData)} showErrorList="bottom">
          <div className="row-end"><button className="primary" type="submit" data-testid="run-submit">Run</button></div>
        </Form>
      ) : (
        <>
          <label>Input (JSON)<textarea className="mono" rows={6} value={text} onChange={(e) => setText(e.target.value)} data-testid="run-input" /></label>
          {err ? <div className="error">{err}</div> : null}
          <div className="row-end"><button className="primary" data-testid="run-submit" onClick={() => {
            try { onRun(JSON.parse(text || "null")); setErr(null); } catch (e: any) { setErr(`not valid JSON: ${e.message}`); }
          }}>Run</button></div>
        </>
      )}
      <ErrorBox error={error} testid="run-error" />
      {hasForm ? <details><summary>Input schema</summary><Json value={inputSchema} /></details> : null}
    </Modal>
  );
}
