import { useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { ApiError, get, post } from "../lib/api";
import { subscribe } from "../lib/sse";
import { can, PERM, useSession } from "../lib/session";
import type { Execution, Page, Workflow } from "../lib/types";
import { ErrorBox, Json, LoadError, StatusBadge, fmtDuration, fmtTime, useLoad } from "../ui/common";

const STATUSES = ["running", "completed", "failed", "cancelled", "terminated", "timed_out"];

export function Executions() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const workflow = params.get("workflow_id") ?? "";
  const trigger = params.get("trigger") ?? "";
  const since = params.get("since") ?? "";
  const set = (k: string, v: string) => { const p = new URLSearchParams(params); if (v) p.set(k, v); else p.delete(k); setParams(p); };
  const query = new URLSearchParams({ limit: "100" });
  if (status) query.set("status", status);
  if (workflow) query.set("workflow_id", workflow);
  if (trigger) query.set("trigger", trigger);
  if (since) query.set("started_after", new Date(Date.now() - Number(since) * 3600_000).toISOString());
  const { data, error, reload } = useLoad(() => get<Page<Execution>>(`executions?${query}`), [status, workflow, trigger, since]);
  const { data: wfs } = useLoad(() => get<Page<Workflow>>("workflows?limit=200"), []);
  const names = new Map((wfs?.items ?? []).map((w) => [w.id, w.name]));
  const rows = data?.items ?? []; // filtered by the API (all matching executions, not only this page's)
  return (
    <div className="page" data-testid="executions">
      <div className="page-head"><h1>Executions</h1><div className="actions"><button onClick={reload} data-testid="executions-refresh">Refresh</button></div></div>
      <div className="filters">
        <select value={status} onChange={(e) => set("status", e.target.value)} data-testid="filter-status">
          <option value="">Any status</option>{STATUSES.map((s) => <option key={s}>{s}</option>)}
        </select>
        <select value={workflow} onChange={(e) => set("workflow_id", e.target.value)} data-testid="filter-workflow">
          <option value="">Any workflow</option>{(wfs?.items ?? []).map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
        </select>
        <select value={trigger} onChange={(e) => set("trigger", e.target.value)} data-testid="filter-trigger">
          <option value="">Any trigger</option>{["manual", "api", "webhook", "schedule", "retry", "test"].map((s) => <option key={s}>{s}</option>)}
        </select>
        <select value={since} onChange={(e) => set("since", e.target.value)} data-testid="filter-time">
          <option value="">Any time</option><option value="1">Last hour</option><option value="24">Last 24 hours</option><option value="168">Last 7 days</option>
        </select>
      </div>
      <ErrorBox error={error} />
      <div className="cards-mobile">
        {rows.map((e) => (
          <Link key={e.id} className="exec-row" to={`/executions/${e.id}`} data-testid="execution-row">
            <span className="exec-id">{names.get(e.workflow_id ?? "") ?? "(definition)"}<small className="muted"> {e.id}</small></span>
            <StatusBadge status={e.status} />
            <span className="muted">{e.trigger}</span>
            <span className="muted">{fmtTime(e.started_at)}</span>
            <span className="muted">{fmtDuration(e.duration_ms)}</span>
          </Link>
        ))}
      </div>
      {data && rows.length === 0 ? <p className="muted">No executions match.</p> : null}
    </div>
  );
}

export function ExecutionDetailPage() {
  const { id } = useParams();
  const me = useSession((s) => s.me);
  const nav = useNavigate();
  const { data, error, reload } = useLoad(() => get<Execution>(`executions/${id}`), [id]);
  const { data: logs, reload: reloadLogs } = useLoad(() => get<any>(`executions/${id}/logs`), [id]);
  const [actionError, setActionError] = useState<any>(null);
  const [live, setLive] = useState("");
  useEffect(() => {
    if (!data || ["completed", "failed", "cancelled", "terminated", "timed_out"].includes(data.status)) return;
    const h = subscribe(`/api/v1/executions/${id}/events`, (ev) => {
      if (ev.event.startsWith("node.") || ev.event.startsWith("execution.") || ev.event.startsWith("task.")) { reload(); reloadLogs(); }
    }, (state, info) => setLive(state === "connected" ? "live" : info ?? state));
    return () => h.close();
  }, [data?.status, id]); // eslint-disable-line
  const act = async (path: string) => {
    setActionError(null);
    try {
      const r = await post<any>(`executions/${id}/${path}`);
      if (path !== "cancel" && r?.id) nav(`/executions/${r.id}`); else reload();
    } catch (err) {
      setActionError(err instanceof ApiError && err.notAvailable ? new Error(`${path} is not available on this server yet`) : err);
    }
  };
  if (error) return <div className="page"><LoadError error={error} what="This execution" /></div>;
  if (!data) return <div className="page muted">Loading…</div>;
  const running = !["completed", "failed", "cancelled", "terminated", "timed_out"].includes(data.status);
  return (
    <div className="page" data-testid="execution-detail">
      <div className="page-head">
        <h1>Execution <small className="mono">{data.id}</small></h1>
        <div className="actions">
          <StatusBadge status={data.status} />
          {live ? <span className="muted small" data-testid="live-state">{live}</span> : null}
          {data.workflow_id ? <Link className="button" to={`/workflows/${data.workflow_id}?execution=${data.id}`} data-testid="open-in-designer">Watch on canvas</Link> : null}
          {data.temporal_ui_url ? <a className="button" href={data.temporal_ui_url} target="_blank" rel="noreferrer" data-testid="temporal-link">Temporal UI</a> : null}
          {can(me, PERM.execute) && running ? <button className="danger" onClick={() => act("cancel")} data-testid="cancel-execution">Cancel</button> : null}
          {can(me, PERM.execute) && !running ? <button onClick={() => act("retry")} data-testid="retry-execution">Retry</button> : null}
          {can(me, PERM.execute) && data.status === "failed" ? <button onClick={() => act("redrive")} data-testid="redrive-execution" title="new run that skips completed nodes">Redrive</button> : null}
        </div>
      </div>
      <ErrorBox error={actionError} />
      <dl className="facts">
        <dt>Trigger</dt><dd>{data.trigger}</dd>
        <dt>Started</dt><dd>{fmtTime(data.started_at)}{data.started_by ? ` by ${data.started_by}` : ""}</dd>
        <dt>Finished</dt><dd>{fmtTime(data.completed_at)}</dd>
        <dt>Duration</dt><dd>{fmtDuration(data.duration_ms)}</dd>
        {data.error ? <><dt>Error</dt><dd className="error-text" data-testid="execution-error">{data.error}</dd></> : null}
      </dl>
      <h2>Timeline</h2>
      <table className="table" data-testid="timeline">
        <thead><tr><th>Node</th><th>Status</th><th>Attempts</th><th>Started</th><th>Duration</th><th>Error</th></tr></thead>
        <tbody>
          {[...(logs?.nodes ?? [])].sort((a: any, b: any) => String(a.started_at ?? "~").localeCompare(String(b.started_at ?? "~"))).map((n: any) => (
            <tr key={n.node_id} data-testid={`timeline-${n.node_id}`}>
              <td className="mono">{n.node_id}</td><td><StatusBadge status={n.status ?? "pending"} /></td><td>{n.attempt ?? "—"}</td>
              <td>{fmtTime(n.started_at)}</td><td>{fmtDuration(n.duration_ms)}</td>
              <td className="error-text">{n.error ? (typeof n.error === "string" ? n.error : n.error.message ?? JSON.stringify(n.error)) : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="grid2 spaced">
        <div className="card"><h3>Input</h3><Json value={data.input} testid="execution-input" /></div>
        <div className="card"><h3>Output</h3><Json value={data.output} testid="execution-output" /></div>
      </div>
      <h2>Event log</h2>
      <table className="table small">
        <tbody>
          {(logs?.events ?? []).map((ev: any, i: number) => (
            <tr key={i}><td className="muted">{fmtTime(ev.at)}</td><td className="mono">{ev.node_id}</td><td>{ev.event}</td><td>{ev.port ?? ""}</td><td>{ev.error ?? ""}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
