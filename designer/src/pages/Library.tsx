import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { del, get, post } from "../lib/api";
import { can, PERM, useSession } from "../lib/session";
import type { Page, Workflow } from "../lib/types";
import { ErrorBox, Modal, StatusBadge, fmtTime, useLoad } from "../ui/common";

export const STARTER = {
  schema_version: 1,
  nodes: [
    { id: "start", type: "start", config: {}, position: { x: 0, y: 100 } },
    { id: "end", type: "end", config: {}, position: { x: 480, y: 100 } },
  ],
  edges: [{ source: "start", target: "end", source_port: "out" }],
};

function NewWorkflow({ onClose }: { onClose: () => void }) {
  const nav = useNavigate();
  const [name, setName] = useState("");
  const [category, setCategory] = useState("");
  const [error, setError] = useState<any>(null);
  const create = async () => {
    try {
      const wf = await post<Workflow>("workflows", { name, category: category || null, status: "draft", definition: STARTER });
      nav(`/workflows/${wf.id}`);
    } catch (err) { setError(err); }
  };
  return (
    <Modal title="New workflow" onClose={onClose} testid="new-workflow-dialog">
      <label>Name<input data-testid="new-workflow-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus /></label>
      <label>Category<input data-testid="new-workflow-category" value={category} onChange={(e) => setCategory(e.target.value)} /></label>
      <ErrorBox error={error} />
      <div className="row-end"><button className="primary" disabled={!name.trim()} onClick={create} data-testid="new-workflow-create">Create</button></div>
    </Modal>
  );
}

export function Library() {
  const me = useSession((s) => s.me);
  const nav = useNavigate();
  const [params, setParams] = useSearchParams();
  const [q, setQ] = useState("");
  const [category, setCategory] = useState("");
  const [status, setStatus] = useState("");
  const [creating, setCreating] = useState(params.get("new") === "1");
  const [error, setError] = useState<any>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const query = new URLSearchParams({ limit: "200", include_stats: "true" });
  if (q) query.set("q", q);
  if (category) query.set("category", category);
  if (status) query.set("status", status);
  const { data, error: loadError, reload } = useLoad(() => get<Page<Workflow>>(`workflows?${query}`), [q, category, status]);
  useEffect(() => { if (params.get("new")) setParams({}, { replace: true }); }, []); // eslint-disable-line
  const categories = [...new Set((data?.items ?? []).map((w) => w.category).filter(Boolean))] as string[];
  const act = async (fn: () => Promise<any>) => {
    setError(null);
    try { await fn(); reload(); } catch (err) { setError(err); }
  };
  const duplicate = (w: Workflow) => act(async () => {
    const full = await get<Workflow>(`workflows/${w.id}`);
    await post("workflows", { name: `${w.name} (copy)`, category: w.category, tags: w.tags, description: w.description, status: "draft", definition: full.definition });
  });
  const exportJson = async (w: Workflow) => {
    try {
      const full = await get<Workflow>(`workflows/${w.id}`);
      const blob = new Blob([JSON.stringify(full.definition, null, 2)], { type: "application/json" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `${w.name.replace(/[^A-Za-z0-9_-]+/g, "-")}.json`;
      a.click();
    } catch (err) { setError(err); }
  };
  const importJson = async (file: File) => act(async () => {
    let definition: any;
    try { definition = JSON.parse(await file.text()); } catch { throw new Error(`${file.name} is not valid JSON`); }
    const wf = await post<Workflow>("workflows", { name: file.name.replace(/\.json$/, ""), status: "draft", definition: definition.definition ?? definition });
    nav(`/workflows/${wf.id}`);
  });
  return (
    <div className="page" data-testid="library">
      <div className="page-head">
        <h1>Workflows</h1>
        <div className="actions">
          {can(me, PERM.create) ? <button className="primary" onClick={() => setCreating(true)} data-testid="new-workflow">New workflow</button> : null}
          {can(me, PERM.create) ? <button onClick={() => fileRef.current?.click()} data-testid="import-workflow">Import JSON</button> : null}
          <input ref={fileRef} type="file" accept="application/json,.json" hidden data-testid="import-file" onChange={(e) => e.target.files?.[0] && importJson(e.target.files[0])} />
        </div>
      </div>
      <div className="filters">
        <input placeholder="Search by name" value={q} onChange={(e) => setQ(e.target.value)} data-testid="library-search" />
        <select value={category} onChange={(e) => setCategory(e.target.value)} data-testid="library-category">
          <option value="">All categories</option>
          {categories.map((c) => <option key={c}>{c}</option>)}
        </select>
        <select value={status} onChange={(e) => setStatus(e.target.value)} data-testid="library-status">
          <option value="">Any status</option>
          {["draft", "active", "inactive", "archived"].map((s) => <option key={s}>{s}</option>)}
        </select>
      </div>
      <ErrorBox error={loadError || error} />
      <table className="table" data-testid="workflow-table">
        <thead><tr><th>Name</th><th>Category</th><th>Status</th><th>Version</th><th>Runs</th><th>Updated</th><th></th></tr></thead>
        <tbody>
          {(data?.items ?? []).map((w) => (
            <tr key={w.id} data-testid="workflow-row">
              <td><Link to={`/workflows/${w.id}`} data-testid="workflow-link">{w.name}</Link></td>
              <td>{w.category ?? "—"}</td>
              <td><StatusBadge status={w.status} /></td>
              <td>v{w.current_version}</td>
              <td>{w.execution_count ?? 0}{w.success_rate !== null && w.success_rate !== undefined ? ` · ${Math.round(w.success_rate * 100)}%` : ""}</td>
              <td>{fmtTime(w.updated_at)}</td>
              <td className="row-actions">
                <Link to={`/workflows/${w.id}/triggers`}>Triggers</Link>
                <button className="small" onClick={() => exportJson(w)} data-testid="export-workflow">Export</button>
                {can(me, PERM.create) ? <button className="small" onClick={() => duplicate(w)} data-testid="duplicate-workflow">Duplicate</button> : null}
                {can(me, PERM.del) && w.status !== "archived" ? <button className="small danger" onClick={() => confirm(`Archive "${w.name}"? It stays readable but can no longer run.`) && act(() => del(`workflows/${w.id}`))} data-testid="archive-workflow">Archive</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.items.length === 0 ? <p className="muted">No workflows yet.</p> : null}
      {creating ? <NewWorkflow onClose={() => setCreating(false)} /> : null}
    </div>
  );
}
