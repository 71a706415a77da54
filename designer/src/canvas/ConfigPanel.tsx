/** The selected node's panel: config form generated from the component's JSON Schema (with the
 * expression editor on expression fields), raw JSON, test-this-node + pin data, and the node's
 * run details while watching an execution. */
import { useCallback, useEffect, useMemo, useState } from "react";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import type { WidgetProps } from "@rjsf/utils";
import { ApiError, get, post } from "../lib/api";
import { useCanvas } from "../lib/canvasStore";
import { upstream } from "../lib/completion";
import type { CanvasNode, WfoNodeData } from "../lib/mapping";
import { describeProblem } from "../lib/markers";
import type { ComponentSpec, JsonObject, Problem } from "../lib/types";
import { ErrorBox, Json, StatusBadge, fmtDuration, fmtTime } from "../ui/common";
import { ExpressionEditor } from "./ExpressionEditor";
import { graphOf } from "./graph";

/** A form-friendly copy of a config schema: fields with an empty schema ("anything") are left to
 * the JSON tab; free-form objects get a key/value editor. */
export function prepareSchema(schema: JsonObject): JsonObject {
  const s: JsonObject = JSON.parse(JSON.stringify(schema ?? { type: "object" }));
  if (!s.type) s.type = "object";
  const props: JsonObject = s.properties ?? {};
  for (const [k, v] of Object.entries(props)) {
    if (!v || typeof v !== "object" || Object.keys(v).length === 0 || (!v.type && !v.enum && !v.oneOf && !v.anyOf)) {
      delete props[k];
      continue;
    }
    if (v.type === "object" && !v.properties && v.additionalProperties === undefined) v.additionalProperties = { type: "string" };
  }
  if (s.required) s.required = s.required.filter((r: string) => r in props || !s.properties);
  return s;
}

function ExpressionWidget(props: WidgetProps) {
  const ctx = props.registry.formContext as { nodeId: string; specs: Record<string, ComponentSpec>; readOnly: boolean };
  const graph = useCallback(() => graphOf(useCanvas.getState().nodes, useCanvas.getState().edges), []);
  const field = String(props.id).replace(/^root_/, "");
  return (
    <ExpressionEditor value={props.value ?? ""} onChange={(v) => props.onChange(v === "" ? undefined : v)} graph={graph}
      nodeId={ctx.nodeId} specs={ctx.specs} readOnly={ctx.readOnly || props.readonly || props.disabled} testid={`expr-${field}`} />
  );
}

function JsonEditor({ value, onApply, readOnly, testid }: { value: any; onApply: (v: any) => void; readOnly: boolean; testid: string }) {
  const [text, setText] = useState(() => JSON.stringify(value ?? {}, null, 2));
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => setText(JSON.stringify(value ?? {}, null, 2)), [JSON.stringify(value)]); // eslint-disable-line
  return (
    <div>
      <textarea className="mono json-edit" rows={10} value={text} readOnly={readOnly} onChange={(e) => setText(e.target.value)} data-testid={testid} />
      {err ? <div className="error">{err}</div> : null}
      {!readOnly ? (
        <button className="small" data-testid={`${testid}-apply`} onClick={() => {
          try { onApply(JSON.parse(text)); setErr(null); } catch (e: any) { setErr(`not valid JSON: ${e.message}`); }
        }}>Apply</button>
      ) : null}
    </div>
  );
}

function TestTab({ node, spec, readOnly }: { node: CanvasNode; spec?: ComponentSpec; readOnly: boolean }) {
  const d = node.data as WfoNodeData;
  const update = useCanvas((s) => s.updateData);
  const [input, setInput] = useState("{}");
  const [result, setResult] = useState<any>(null);
  const [err, setErr] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const test = async () => {
    setErr(null);
    setResult(null);
    let parsed: any;
    try { parsed = JSON.parse(input || "null"); } catch (e: any) { setErr(new Error(`sample input is not valid JSON: ${e.message}`)); return; }
    const { nodes, edges } = useCanvas.getState();
    const g = graphOf(nodes, edges);
    const pinnedUp: JsonObject = {};
    for (const id of upstream(g, node.id)) {
      const n = nodes.find((x) => x.id === id);
      const p = (n?.data as WfoNodeData)?.pinned;
      if (p !== undefined) pinnedUp[id] = p;
    }
    setBusy(true);
    try {
      setResult(await post(`components/${encodeURIComponent(d.type)}/test`, { config: d.config, input: parsed, context: { nodes: pinnedUp, vars: {} } }));
    } catch (e: any) {
      setErr(e instanceof ApiError && e.notAvailable ? new Error("Testing a single node is not available on this server yet.") : e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="test-tab">
      <label>Sample input (JSON)<textarea className="mono" rows={4} value={input} onChange={(e) => setInput(e.target.value)} data-testid="test-input" /></label>
      <button onClick={test} disabled={busy || spec?.kind === "control"} data-testid="test-node">{busy ? "Running…" : "Test this node"}</button>
      {spec?.kind === "control" ? <p className="muted small">Control nodes run only inside a whole execution.</p> : null}
      <ErrorBox error={err} testid="test-error" />
      {result ? (
        <div className="test-result" data-testid="test-result">
          <StatusBadge status={result.status} /> {result.port ? <>port <code>{result.port}</code></> : null} · {fmtDuration(result.duration_ms)}
          {result.error ? <div className="error">{result.error.type}: {result.error.message}</div> : <Json value={result.output} />}
          {!readOnly && result.status === "completed" ? <button className="small" onClick={() => update(node.id, { pinned: result.output })} data-testid="pin-output">Pin this output</button> : null}
        </div>
      ) : null}
      <h4>Pinned sample output</h4>
      <p className="muted small">Used for expression completions and as upstream data when testing the next nodes; ignored by the engine.</p>
      <JsonEditor value={d.pinned ?? null} readOnly={readOnly} testid="pin-json" onApply={(v) => update(node.id, { pinned: v === null ? undefined : v })} />
    </div>
  );
}

function RunTab({ node, executionId }: { node: CanvasNode; executionId: string }) {
  const [info, setInfo] = useState<any>(null);
  const [err, setErr] = useState<any>(null);
  const status = useCanvasRun(node.id);
  useEffect(() => {
    let stop = false;
    (async () => {
      try {
        const logs = await get<any>(`executions/${executionId}/logs`);
        const n = (logs.nodes ?? []).find((x: any) => x.node_id === node.id) ?? null;
        let io: any = null;
        try { io = await get<any>(`executions/${executionId}/nodes/${encodeURIComponent(node.id)}`); } catch { io = null; }
        let output = io?.output;
        if (io === null && (node.data as WfoNodeData).type === "end") {
          const ex = await get<any>(`executions/${executionId}`);
          output = ex.output;
        }
        if (!stop) setInfo({ ...n, input: io?.input, output, hasIo: io !== null || (node.data as WfoNodeData).type === "end" });
      } catch (e) { if (!stop) setErr(e); }
    })();
    return () => { stop = true; };
  }, [executionId, node.id, status]);
  return (
    <div data-testid="run-tab">
      <ErrorBox error={err} />
      {info ? (
        <>
          <dl className="facts">
            <dt>Status</dt><dd><StatusBadge status={info.status ?? "pending"} /></dd>
            <dt>Attempts</dt><dd>{info.attempt ?? "—"}</dd>
            <dt>Started</dt><dd>{fmtTime(info.started_at)}</dd>
            <dt>Finished</dt><dd>{fmtTime(info.completed_at ?? info.failed_at)}</dd>
            <dt>Duration</dt><dd>{fmtDuration(info.duration_ms)}</dd>
            {info.runs?.length ? <><dt>Port</dt><dd>{info.runs[info.runs.length - 1].port ?? "—"}</dd></> : null}
          </dl>
          {info.error ? <div className="error" data-testid="node-error">{typeof info.error === "string" ? info.error : info.error.message ?? JSON.stringify(info.error)}</div> : null}
          {info.input !== undefined ? <><h4>Input</h4><Json value={info.input} testid="node-input" /></> : null}
          <h4>Output</h4>
          {info.hasIo ? <Json value={info.output} testid="node-output" /> : <p className="muted">The output of this node is not available from this server.</p>}
        </>
      ) : <p className="muted">Loading…</p>}
    </div>
  );
}

import { useOverlay } from "../lib/canvasStore";
function useCanvasRun(id: string) {
  return useOverlay((s) => s.run[id]);
}

export function ConfigPanel({ node, spec, specs, problems, readOnly, executionId }: {
  node: CanvasNode; spec?: ComponentSpec; specs: Record<string, ComponentSpec>; problems: Problem[]; readOnly: boolean; executionId: string | null;
}) {
  const d = node.data as WfoNodeData;
  const update = useCanvas((s) => s.updateData);
  const [tab, setTab] = useState<"config" | "json" | "test" | "run">(executionId ? "run" : "config");
  useEffect(() => { if (executionId) setTab("run"); }, [executionId]);
  const schema = useMemo(() => prepareSchema(spec?.config_schema ?? { type: "object" }), [spec]);
  const uiSchema = useMemo(() => {
    const ui: JsonObject = { "ui:submitButtonOptions": { norender: true } };
    for (const f of spec?.expression_fields ?? []) ui[f] = { "ui:widget": "expression" };
    if (d.type === "filter") ui.condition = { "ui:widget": "expression" };
    return ui;
  }, [spec, d.type]);
  const formContext = useMemo(() => ({ nodeId: node.id, specs, readOnly }), [node.id, specs, readOnly]);
  return (
    <aside className="config-panel" data-testid="config-panel" data-node-id={node.id}>
      <div className="panel-head">
        <h3>{spec?.title ?? d.type}</h3>
        <code className="muted">{node.id}</code>
      </div>
      {spec?.description ? <p className="muted small">{spec.description}</p> : null}
      <label>Name<input value={d.name ?? ""} readOnly={readOnly} onChange={(e) => update(node.id, { name: e.target.value || undefined })} data-testid="node-name" /></label>
      {problems.length ? (
        <ul className="node-problems" data-testid="node-problems">{problems.map((p, i) => <li key={i}>{describeProblem({ ...p, node_id: null })}</li>)}</ul>
      ) : null}
      <div className="tabs">
        <button className={tab === "config" ? "on" : ""} onClick={() => setTab("config")} data-testid="tab-config">Config</button>
        <button className={tab === "json" ? "on" : ""} onClick={() => setTab("json")} data-testid="tab-json">JSON</button>
        <button className={tab === "test" ? "on" : ""} onClick={() => setTab("test")} data-testid="tab-test">Test &amp; pin</button>
        {executionId ? <button className={tab === "run" ? "on" : ""} onClick={() => setTab("run")} data-testid="tab-run">Run</button> : null}
      </div>
      {tab === "config" ? (
        <div className="rjsf-wrap" data-testid="config-form">
          <Form key={node.id} schema={schema} uiSchema={uiSchema} formData={d.config} validator={validator} widgets={{ expression: ExpressionWidget }}
            formContext={formContext} disabled={readOnly} noHtml5Validate showErrorList={false}
            onChange={(e) => !readOnly && update(node.id, { config: clean(e.formData) })} />
          {spec?.example ? <p className="muted small">Example: <code>{JSON.stringify(spec.example)}</code></p> : null}
          {spec?.docs ? <details><summary>Docs</summary><pre className="docs">{spec.docs}</pre></details> : null}
        </div>
      ) : null}
      {tab === "json" ? <JsonEditor value={d.config} readOnly={readOnly} testid="config-json" onApply={(v) => update(node.id, { config: v })} /> : null}
      {tab === "test" ? <TestTab node={node} spec={spec} readOnly={readOnly} /> : null}
      {tab === "run" && executionId ? <RunTab node={node} executionId={executionId} /> : null}
    </aside>
  );
}

/** rjsf leaves `undefined` for cleared fields: drop them so the definition stays minimal. */
function clean(v: any): any {
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === "object") {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = clean(x);
    return out;
  }
  return v;
}
