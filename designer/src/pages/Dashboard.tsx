import { Link, useNavigate } from "react-router-dom";
import { ApiError, get, post } from "../lib/api";
import { can, PERM, useSession } from "../lib/session";
import type { Execution, Page } from "../lib/types";
import { BarChart, ErrorBox, StatusBadge, fmtDuration, fmtTime, useLoad } from "../ui/common";
import { useState } from "react";

interface Summary {
  counts: Record<string, number>;
  success_rate: number | null;
  avg_duration_seconds: number | null;
  over_time: { start: string; completed: number; failed: number; cancelled: number; running: number }[];
  recent: Record<string, Execution[]>;
  derived?: boolean;
}

/** Without GET /analytics/summary, the same figures from the executions list (counts by status,
 * and the last 200 executions bucketed by hour). */
async function derivedSummary(): Promise<Summary> {
  const statuses = ["running", "completed", "failed", "cancelled"];
  const pages = await Promise.all(statuses.map((s) => get<Page<Execution>>(`executions?status=${s}&limit=5`)));
  const counts: Record<string, number> = {};
  const recent: Record<string, Execution[]> = {};
  statuses.forEach((s, i) => { counts[s] = pages[i].total; recent[s] = pages[i].items; });
  const last = await get<Page<Execution>>("executions?limit=200");
  const now = Date.now();
  const hour = 3600_000;
  const over_time = Array.from({ length: 24 }, (_, i) => ({ start: new Date(Math.floor(now / hour) * hour - (23 - i) * hour).toISOString(), completed: 0, failed: 0, cancelled: 0, running: 0 }));
  for (const e of last.items) {
    const idx = 23 - Math.floor((Math.floor(now / hour) * hour + hour - new Date(e.started_at).getTime()) / hour);
    if (idx >= 0 && idx < 24) {
      const k = (["completed", "failed", "cancelled"].includes(e.status) ? e.status : "running") as "completed";
      over_time[idx][k]++;
    }
  }
  const finished = counts.completed + counts.failed + counts.cancelled;
  const durations = last.items.map((e) => e.duration_ms).filter((d): d is number => typeof d === "number");
  return {
    counts, recent, over_time,
    success_rate: finished ? counts.completed / finished : null,
    avg_duration_seconds: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length / 1000 : null,
    derived: true,
  };
}

async function loadSummary(): Promise<Summary> {
  try {
    return await get<Summary>("analytics/summary?window=P1D&bucket=PT1H");
  } catch (err) {
    if (err instanceof ApiError && err.notAvailable) return derivedSummary();
    throw err;
  }
}

function RecentList({ title, items, testid, retry }: { title: string; items: Execution[]; testid: string; retry?: boolean }) {
  const me = useSession((s) => s.me);
  const nav = useNavigate();
  const [error, setError] = useState<any>(null);
  return (
    <div className="card" data-testid={testid}>
      <h3>{title}</h3>
      {items.length === 0 ? <p className="muted">None</p> : null}
      <ul className="plain">
        {items.map((e) => (
          <li key={e.id}>
            <Link to={`/executions/${e.id}`}>{e.id.slice(0, 22)}</Link> <StatusBadge status={e.status} />{" "}
            <span className="muted">{fmtTime(e.started_at)}</span>
            {retry && can(me, PERM.execute) ? (
              <button className="small" data-testid="dashboard-retry" onClick={async () => {
                try { const r = await post<{ id: string }>(`executions/${e.id}/retry`); nav(`/executions/${r.id}`); } catch (err) { setError(err); }
              }}>Retry</button>
            ) : null}
          </li>
        ))}
      </ul>
      <ErrorBox error={error} />
    </div>
  );
}

export function Dashboard() {
  const me = useSession((s) => s.me);
  const { data, error, loading } = useLoad(loadSummary, []);
  const tiles: [string, string][] = [["running", "Active"], ["completed", "Completed"], ["scheduled", "Scheduled"], ["failed", "Failed"]];
  return (
    <div className="page" data-testid="dashboard">
      <div className="page-head">
        <h1>Dashboard</h1>
        <div className="actions">
          {can(me, PERM.create) ? <Link className="button primary" to="/workflows?new=1" data-testid="quick-create">Create workflow</Link> : null}
          {can(me, PERM.create) ? <Link className="button" to="/templates" data-testid="quick-template">Import template</Link> : null}
          <Link className="button" to="/executions" data-testid="quick-executions">View executions</Link>
        </div>
      </div>
      <ErrorBox error={error} />
      {loading && !data ? <p className="muted">Loading…</p> : null}
      {data ? (
        <>
          <div className="tiles">
            {tiles.map(([k, label]) => (
              <Link key={k} className={`tile t-${k}`} to={k === "scheduled" ? "/workflows" : `/executions?status=${k}`} data-testid={`count-${k}`}>
                <span className="n">{data.counts[k] ?? "—"}</span>
                <span>{label}</span>
              </Link>
            ))}
            <div className="tile" data-testid="success-rate"><span className="n">{data.success_rate === null ? "—" : `${Math.round(data.success_rate * 100)}%`}</span><span>Success rate</span></div>
            <div className="tile" data-testid="avg-duration"><span className="n">{data.avg_duration_seconds === null ? "—" : fmtDuration(data.avg_duration_seconds * 1000)}</span><span>Avg duration</span></div>
          </div>
          <div className="card">
            <h3>Executions over time</h3>
            <BarChart buckets={data.over_time} />
            <div className="legend"><span className="l-completed">completed</span><span className="l-failed">failed</span><span className="l-cancelled">cancelled</span><span className="l-running">running</span></div>
            {data.derived ? <p className="muted small">Figures computed from the executions list (the analytics endpoint is not available on this server).</p> : null}
          </div>
          <div className="grid3">
            <RecentList title="Running" items={data.recent.running ?? []} testid="recent-running" />
            <RecentList title="Failed" items={data.recent.failed ?? []} testid="recent-failed" retry />
            <RecentList title="Completed" items={data.recent.completed ?? []} testid="recent-completed" />
          </div>
        </>
      ) : null}
    </div>
  );
}
