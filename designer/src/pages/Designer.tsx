/** The designer canvas page: palette, canvas, config panel, problems, save/conflict, history,
 * run + watch, presence. */
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import {
  ReactFlow, ReactFlowProvider, Background, Controls, MiniMap, useReactFlow, type Connection, type IsValidConnection,
} from "@xyflow/react";
import { ApiError, get, post, request, del } from "../lib/api";
import { subscribe, type SseHandle } from "../lib/sse";
import { can, PERM, useSession } from "../lib/session";
import { useCanvas, useOverlay, undo, redo, resetHistory, beginGesture, endGesture } from "../lib/canvasStore";
import { toCanvas, toDefinition, newNodeId, type CanvasNode, type WfoNodeData } from "../lib/mapping";
import { layout } from "../lib/layout";
import { describeProblem } from "../lib/markers";
import type { Definition, Execution, Workflow } from "../lib/types";
import { ErrorBox, LoadError, StatusBadge } from "../ui/common";
import { nodeTypes } from "../canvas/NodeView";
import { Palette, DND_TYPE } from "../canvas/Palette";
import { ConfigPanel } from "../canvas/ConfigPanel";
import { ConflictDialog, HistoryDialog, RunDialog } from "../canvas/Dialogs";

const DRAFT = (id: string) => `wfo.draft.${id}`;
const TERMINAL = ["completed", "failed", "cancelled", "terminated", "timed_out"];

function useIsPhone() {
  const [phone, setPhone] = useState(() => window.matchMedia("(max-width: 700px)").matches);
  useEffect(() => {
    const m = window.matchMedia("(max-width: 700px)");
    const on = () => setPhone(m.matches);
    m.addEventListener("change", on);
    return () => m.removeEventListener("change", on);
  }, []);
  return phone;
}

/** Auto-layout as a hook: lay out with dagre, then fit the view. */
function useAutoLayout() {
  const rf = useReactFlow();
  return useCallback(() => {
    const { nodes, edges, setNodes } = useCanvas.getState();
    setNodes(layout(nodes, edges));
    setTimeout(() => rf.fitView({ padding: 0.2, duration: 200 }), 30);
  }, [rf]);
}

function currentDefinition(): Definition {
  const s = useCanvas.getState();
  return toDefinition({ nodes: s.nodes, edges: s.edges, extra: s.extra });
}

function Presence({ workflowId }: { workflowId: string }) {
  const me = useSession((s) => s.me);
  const [viewers, setViewers] = useState<{ user_id: string; email: string }[] | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  useEffect(() => {
    let stop = false;
    const beat = async () => {
      try {
        const r = await post<{ viewers: { user_id: string; email: string }[] }>(`workflows/${workflowId}/presence`, {});
        if (!stop) setViewers(r.viewers);
      } catch (err) {
        if (err instanceof ApiError && err.notAvailable) { setUnavailable(true); stop = true; }
      }
    };
    beat();
    const t = setInterval(() => !stop && beat(), 10000);
    return () => { stop = true; clearInterval(t); del(`workflows/${workflowId}/presence`).catch(() => undefined); };
  }, [workflowId]);
  if (unavailable) return <span className="presence muted small" data-testid="presence" title="presence is not available on this server">presence n/a</span>;
  const others = (viewers ?? []).filter((v) => v.user_id !== me?.id);
  return (
    <span className="presence" data-testid="presence">
      {others.map((v) => <span key={v.user_id} className="avatar" title={`${v.email} is viewing`} data-testid="presence-avatar">{v.email[0].toUpperCase()}</span>)}
    </span>
  );
}

function Canvas({ wf, etag, setEtag, reloadWorkflow }: { wf: Workflow; etag: string | null; setEtag: (e: string | null) => void; reloadWorkflow: () => Promise<void> }) {
  const me = useSession((s) => s.me);
  const specs = useSession((s) => s.specs);
  const categories = useSession((s) => s.categories);
  const specsError = useSession((s) => s.specsError);
  const nodes = useCanvas((s) => s.nodes);
  const edges = useCanvas((s) => s.edges);
  const dirty = useCanvas((s) => s.dirty);
  const onNodesChange = useCanvas((s) => s.onNodesChange);
  const onEdgesChange = useCanvas((s) => s.onEdgesChange);
  const connect = useCanvas((s) => s.connect);
  const addNode = useCanvas((s) => s.addNode);
  const markers = useOverlay((s) => s.markers);
  const problems = useOverlay((s) => s.problems);
  const validating = useOverlay((s) => s.validating);
  const phone = useIsPhone();
  const readOnly = !can(me, PERM.edit) || phone;
  const rf = useReactFlow();
  const autoLayout = useAutoLayout();
  const wrapper = useRef<HTMLDivElement>(null);
  const [params, setParams] = useSearchParams();
  const [saveError, setSaveError] = useState<any>(null);
  const [saving, setSaving] = useState(false);
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const [conflict, setConflict] = useState<any>(null);
  const [history, setHistory] = useState(false);
  const [running, setRunning] = useState(false);
  const [runError, setRunError] = useState<any>(null);
  const [execution, setExecution] = useState<Execution | null>(null);
  const [live, setLive] = useState<string>("");
  const executionId = params.get("execution");
  const sse = useRef<SseHandle | null>(null);
  const [version, setVersion] = useState(wf.current_version);

  useEffect(() => { useOverlay.setState({ readOnly }); }, [readOnly]);

  // --- local draft: every change is kept in localStorage until saved
  const pendingDraft = useRef<(() => void) | null>(null);
  useEffect(() => {
    if (!dirty) {
      pendingDraft.current = null; // saved (or nothing changed): no draft to keep
      return;
    }
    const write = () => {
      pendingDraft.current = null;
      localStorage.setItem(DRAFT(wf.id), JSON.stringify({ etag, definition: currentDefinition(), at: new Date().toISOString() }));
    };
    pendingDraft.current = write;
    const t = setTimeout(write, 300);
    return () => clearTimeout(t);
  }, [nodes, edges, dirty, wf.id, etag]);
  // leaving the canvas (a session that expired and signs in again remounts it) writes the draft the debounce
  // has not written yet: the last change is never lost
  useEffect(() => () => pendingDraft.current?.(), []);

  // --- live validation (debounced), only when the definition changed
  const lastValidated = useRef<string>("");
  useEffect(() => {
    const def = currentDefinition();
    const key = JSON.stringify({ nodes: def.nodes.map(({ position, ...n }) => n), edges: def.edges });
    if (key === lastValidated.current) return;
    const t = setTimeout(async () => {
      lastValidated.current = key;
      useOverlay.setState({ validating: true });
      try {
        const r = await post<{ valid: boolean; problems: any[] }>("workflows/validate", { definition: def });
        const s = useCanvas.getState();
        useOverlay.getState().setProblems(r.problems, s.nodes.map((n) => n.id), s.edges.map((e) => e.id));
      } catch (err: any) {
        useOverlay.getState().setProblems([{ code: "validate_failed", message: `could not validate: ${err.message}` }], [], []);
      }
    }, 400);
    return () => clearTimeout(t);
  }, [nodes, edges]);

  // --- save with the ETag; 412 -> conflict dialog
  const save = useCallback(async (force?: string) => {
    if (readOnly) return;
    setSaving(true);
    setSaveError(null);
    try {
      const definition = currentDefinition();
      const headers: Record<string, string> = {};
      const tag = force ?? etag;
      if (tag) headers["If-Match"] = tag;
      const res = await request<Workflow>(`workflows/${wf.id}`, { method: "PUT", body: { definition }, headers });
      setEtag(res.headers.get("ETag"));
      useCanvas.getState().markSaved();
      localStorage.removeItem(DRAFT(wf.id));
      setSavedAt(`saved v${res.data.current_version}`);
      setVersion(res.data.current_version);
      setConflict(null);
      return true;
    } catch (err: any) {
      if (err instanceof ApiError && err.status === 412) {
        const r = await request<Workflow>(`workflows/${wf.id}`);
        setConflict({ definition: r.data.definition, version: r.data.current_version, updated_at: r.data.updated_at, etag: r.headers.get("ETag") });
      } else {
        setSaveError(err);
      }
      return false;
    } finally {
      setSaving(false);
    }
  }, [etag, readOnly, wf.id, setEtag]);

  // --- watch an execution: SSE node events light nodes up; the final detail settles skipped nodes
  const applyDetail = useCallback((ex: Execution) => {
    setExecution(ex);
    if (ex.nodes) {
      const run: Record<string, string> = {};
      for (const [id, st] of Object.entries(ex.nodes)) run[id] = (st as any)?.status ?? "pending";
      useOverlay.getState().setRun(run);
    }
  }, []);
  useEffect(() => {
    sse.current?.close();
    if (!executionId) { useOverlay.getState().setRun({}); setExecution(null); return; }
    let stop = false;
    let poll: ReturnType<typeof setInterval> | null = null;
    const refresh = async () => {
      try {
        const ex = await get<Execution>(`executions/${executionId}`);
        if (stop) return;
        applyDetail(ex);
        if (TERMINAL.includes(ex.status)) { if (poll) clearInterval(poll); sse.current?.close(); }
      } catch (err) { if (!stop) setRunError(err); }
    };
    refresh();
    sse.current = subscribe(`/api/v1/executions/${executionId}/events`, (ev) => {
      const d = ev.data ?? {};
      if (ev.event.startsWith("node.") && d.node_id) {
        const status = ev.event === "node.started" ? "running" : ev.event === "node.completed" ? "completed" : ev.event === "node.failed" ? "failed" : null;
        if (status) useOverlay.setState((s) => ({ run: { ...s.run, [d.node_id]: status } }));
      } else if (ev.event.startsWith("execution.") || ev.event.startsWith("task.")) {
        refresh();
      }
    }, (state, info) => setLive(state === "connected" ? "live" : state === "reconnecting" ? info ?? "reconnecting" : info ?? ""));
    poll = setInterval(refresh, 3000); // also covers a server without the live stream
    return () => { stop = true; if (poll) clearInterval(poll); sse.current?.close(); };
  }, [executionId, applyDetail]);

  const run = async (input: any) => {
    setRunError(null);
    if (dirty && !readOnly) {
      const ok = await save();
      if (!ok) { setRunError(new Error("save the workflow first (see the message above)")); return; }
    }
    try {
      const r = await post<{ id: string }>(`workflows/${wf.id}/execute`, { input });
      setRunning(false);
      setParams({ execution: r.id });
    } catch (err) { setRunError(err); }
  };

  // --- palette drop / add
  const addAt = useCallback((type: string, position: { x: number; y: number }) => {
    const spec = specs[type];
    const id = newNodeId(type, useCanvas.getState().nodes.map((n) => n.id));
    const config = type === "switch" ? { cases: [{ port: "a", value: "a" }] } : {};
    addNode({ id, type: "wfo", position, data: { type, config, extra: {}, ...(spec ? {} : {}) } as WfoNodeData });
  }, [addNode, specs]);
  const onDrop = useCallback((e: DragEvent) => {
    e.preventDefault();
    const type = e.dataTransfer.getData(DND_TYPE) || e.dataTransfer.getData("text/plain");
    if (!type || readOnly) return;
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addAt(type, { x: Math.round(p.x - 90), y: Math.round(p.y - 30) });
  }, [rf, addAt, readOnly]);
  const addCentre = useCallback((type: string) => {
    const box = wrapper.current?.getBoundingClientRect();
    const p = rf.screenToFlowPosition({ x: (box?.left ?? 0) + (box?.width ?? 600) / 2, y: (box?.top ?? 0) + (box?.height ?? 400) / 2 });
    addAt(type, { x: Math.round(p.x - 90), y: Math.round(p.y - 30) });
  }, [rf, addAt]);
  const addNote = useCallback(() => {
    const box = wrapper.current?.getBoundingClientRect();
    const p = rf.screenToFlowPosition({ x: (box?.left ?? 0) + 80, y: (box?.top ?? 0) + 80 });
    const id = newNodeId("note", useCanvas.getState().nodes.map((n) => n.id));
    addNode({ id, type: "note", position: p, data: { text: "", color: "yellow" }, width: 200, height: 120, style: { width: 200, height: 120 } });
  }, [rf, addNode]);

  const isValidConnection: IsValidConnection = useCallback((c) => c.source !== c.target && c.targetHandle === "in", []);
  const onConnect = useCallback((c: Connection) => {
    if (c.source && c.target && c.sourceHandle) connect(c.source, c.sourceHandle, c.target);
  }, [connect]);

  // --- shortcuts (not while typing in a field)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable || t.closest?.(".cm-editor"));
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key.toLowerCase() === "s") { e.preventDefault(); save(); return; }
      if (typing || readOnly) return;
      if (mod && e.key.toLowerCase() === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
      else if (mod && (e.key.toLowerCase() === "y" || (e.key.toLowerCase() === "z" && e.shiftKey))) { e.preventDefault(); redo(); }
      else if (mod && e.key.toLowerCase() === "c") useCanvas.getState().copySelected();
      else if (mod && e.key.toLowerCase() === "v") useCanvas.getState().paste();
      else if (mod && e.key.toLowerCase() === "a") { e.preventDefault(); useCanvas.getState().selectAll(); }
      else if (e.key === "/") { e.preventDefault(); (document.querySelector("[data-testid=palette-search]") as HTMLInputElement | null)?.focus(); }
      else if (e.shiftKey && e.key.toLowerCase() === "l") autoLayout();
      else if (e.shiftKey && e.key === "!") rf.fitView({ padding: 0.2 });
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save, readOnly, autoLayout, rf]);

  // warn before leaving with unsaved edits (they are in the local draft anyway)
  useEffect(() => {
    const h = (e: BeforeUnloadEvent) => { if (useCanvas.getState().dirty) e.preventDefault(); };
    window.addEventListener("beforeunload", h);
    return () => window.removeEventListener("beforeunload", h);
  }, []);

  const selected = nodes.filter((n) => n.selected);
  const one: CanvasNode | null = selected.length === 1 && selected[0].type === "wfo" ? selected[0] : null;
  const styledEdges = useMemo(() => edges.map((e) => {
    const probs = markers.edges[e.id];
    const label = e.sourceHandle && e.sourceHandle !== "out" ? e.sourceHandle : undefined;
    return {
      ...e,
      label: probs ? `⚠ ${label ?? ""}` : label,
      className: [probs ? "edge-invalid" : "", e.sourceHandle === "error" ? "edge-error" : ""].join(" "),
      data: { ...e.data, problems: probs?.length ?? 0 },
    };
  }), [edges, markers.edges]);
  const startNode = nodes.find((n) => (n.data as WfoNodeData).type === "start");
  const inputSchema = (startNode?.data as WfoNodeData | undefined)?.config?.input_schema;

  return (
    <div className={`designer ${phone ? "phone" : ""}`} data-testid="designer" data-readonly={readOnly ? "1" : "0"}>
      <div className="toolbar" data-testid="designer-toolbar">
        <Link to="/workflows" className="muted">Workflows</Link> / <strong data-testid="workflow-name">{wf.name}</strong>
        <span className="muted small" data-testid="workflow-version">v{version}</span>
        {dirty ? <span className="badge st-draft" data-testid="unsaved">unsaved</span> : savedAt ? <span className="muted small" data-testid="saved">{savedAt}</span> : null}
        <span className="spacer" />
        <Presence workflowId={wf.id} />
        {!readOnly ? (
          <>
            <button onClick={undo} title="Undo (Ctrl+Z)" data-testid="undo">↶</button>
            <button onClick={redo} title="Redo (Ctrl+Shift+Z)" data-testid="redo">↷</button>
            <button onClick={autoLayout} title="Auto-layout (Shift+L)" data-testid="auto-layout">Tidy up</button>
            <button onClick={addNote} data-testid="add-note">Note</button>
          </>
        ) : <span className="badge" data-testid="read-only">read-only</span>}
        <button onClick={() => rf.fitView({ padding: 0.2, duration: 200 })} title="Fit view (Shift+1)" data-testid="fit-view">Fit</button>
        <button onClick={() => setHistory(true)} data-testid="history">History</button>
        <Link className="button" to={`/workflows/${wf.id}/triggers`} data-testid="triggers-link">Triggers</Link>
        {!readOnly ? <button className="primary" onClick={() => save()} disabled={saving} data-testid="save">{saving ? "Saving…" : "Save"}</button> : null}
        {can(me, PERM.execute) ? <button className="primary" onClick={() => setRunning(true)} data-testid="run">Run</button> : null}
      </div>
      <ErrorBox error={saveError} testid="save-error" />
      {saveError instanceof ApiError && saveError.problems.length ? null : null}
      {executionId ? (
        <div className="watchbar" data-testid="watchbar">
          Watching <Link to={`/executions/${executionId}`} className="mono">{executionId.slice(0, 28)}</Link>
          {execution ? <StatusBadge status={execution.status} /> : null}
          <span className="muted small" data-testid="live-state">{live}</span>
          {execution?.temporal_ui_url ? <a href={execution.temporal_ui_url} target="_blank" rel="noreferrer">Temporal UI</a> : null}
          <button className="small" onClick={() => setParams({})} data-testid="stop-watching">Back to editing</button>
          <ErrorBox error={runError} />
        </div>
      ) : null}
      <div className="designer-body">
        {!readOnly ? <Palette specs={specs} categories={categories} onAdd={addCentre} error={specsError} /> : null}
        <div className="canvas-wrap" ref={wrapper} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }} onDrop={onDrop} data-testid="canvas">
          <ReactFlow
            nodes={nodes as any}
            edges={styledEdges as any}
            nodeTypes={nodeTypes}
            onNodesChange={readOnly ? undefined : (onNodesChange as any)}
            onEdgesChange={readOnly ? undefined : (onEdgesChange as any)}
            onConnect={onConnect}
            isValidConnection={isValidConnection}
            onNodeDragStart={beginGesture}
            onNodeDragStop={endGesture}
            onSelectionDragStart={beginGesture}
            onSelectionDragStop={endGesture}
            onNodeClick={(_, n) => readOnly && useCanvas.setState((s) => ({ nodes: s.nodes.map((x) => ({ ...x, selected: x.id === n.id })) }))}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            elementsSelectable
            deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
            multiSelectionKeyCode={["Meta", "Control"]}
            selectionKeyCode="Shift"
            fitView
            fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={16} />
            <Controls showInteractive={false} />
            {!phone ? <MiniMap pannable zoomable data-testid="minimap" nodeColor={(n: any) => n.type === "note" ? "#fde68a" : "#a5b4fc"} /> : null}
          </ReactFlow>
        </div>
        {one ? (
          <ConfigPanel key={one.id} node={one} spec={specs[(one.data as WfoNodeData).type]} specs={specs} problems={markers.nodes[one.id] ?? []} readOnly={readOnly} executionId={executionId} />
        ) : null}
      </div>
      <div className="problems" data-testid="problems">
        <strong>Problems</strong> {validating ? <span className="muted small">checking…</span> : null}
        {problems.length === 0 ? <span className="ok small" data-testid="no-problems"> ✓ no problems</span> : <span className="badge st-failed" data-testid="problem-count">{problems.length}</span>}
        <ul>
          {problems.map((p, i) => (
            <li key={i} data-testid="problem">
              <button className="link" onClick={() => {
                if (p.node_id) {
                  useCanvas.setState((s) => ({ nodes: s.nodes.map((n) => ({ ...n, selected: n.id === p.node_id })) }));
                  const n = useCanvas.getState().nodes.find((x) => x.id === p.node_id);
                  if (n) rf.setCenter(n.position.x + 90, n.position.y + 30, { zoom: rf.getZoom(), duration: 200 });
                }
              }}>{describeProblem(p)}</button>
            </li>
          ))}
        </ul>
      </div>
      {conflict ? (
        <ConflictDialog mine={currentDefinition()} theirs={conflict} onClose={() => setConflict(null)}
          onKeepMine={() => { setEtag(conflict.etag); save(conflict.etag); }}
          onReload={async () => { localStorage.removeItem(DRAFT(wf.id)); setConflict(null); await reloadWorkflow(); }} />
      ) : null}
      {history ? (
        <HistoryDialog workflowId={wf.id} current={currentDefinition()} canRestore={!readOnly} onClose={() => setHistory(false)}
          onRestore={(def) => {
            const c = toCanvas(def);
            useCanvas.setState({ nodes: c.nodes, edges: c.edges, extra: c.extra, dirty: true });
            setHistory(false);
          }} />
      ) : null}
      {running ? <RunDialog inputSchema={inputSchema} onRun={run} onClose={() => setRunning(false)} error={runError} /> : null}
    </div>
  );
}

export function DesignerPage() {
  const { id } = useParams();
  const [wf, setWf] = useState<Workflow | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [error, setError] = useState<any>(null);
  const [draftNote, setDraftNote] = useState<string | null>(null);
  const load = useCallback(async (useDraft = true) => {
    setError(null);
    try {
      const r = await request<Workflow>(`workflows/${id}`);
      const tag = r.headers.get("ETag");
      let def = r.data.definition!;
      const raw = useDraft ? localStorage.getItem(DRAFT(id!)) : null;
      let restored = false;
      if (raw) {
        try {
          const d = JSON.parse(raw);
          if (d.definition) { def = d.definition; restored = true; setDraftNote(d.etag === tag ? "Restored your unsaved changes from this browser." : "Restored your unsaved changes from this browser; the workflow was saved by someone else meanwhile, so saving will ask what to keep."); }
        } catch { localStorage.removeItem(DRAFT(id!)); }
      } else setDraftNote(null);
      const c = toCanvas(def);
      useOverlay.getState().setProblems([], [], []);
      useCanvas.getState().load(c.nodes, c.edges, c.extra);
      if (restored) useCanvas.setState({ dirty: true });
      resetHistory();
      setEtag(tag);
      setWf(r.data);
    } catch (err) { setError(err); }
  }, [id]);
  useEffect(() => { load(); return () => useOverlay.getState().setRun({}); }, [load]);
  if (error) return <div className="page"><LoadError error={error} what="This workflow" /></div>;
  if (!wf) return <div className="page muted">Loading…</div>;
  return (
    <ReactFlowProvider>
      {draftNote ? <div className="notice" data-testid="draft-restored">{draftNote} <button className="link" onClick={() => { localStorage.removeItem(DRAFT(id!)); load(false); }}>Discard them</button></div> : null}
      <Canvas wf={wf} etag={etag} setEtag={setEtag} reloadWorkflow={() => load(false)} />
    </ReactFlowProvider>
  );
}
