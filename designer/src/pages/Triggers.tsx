import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { del, get, post } from "../lib/api";
import { can, PERM, useSession } from "../lib/session";
import { describeCron, nextRuns } from "../lib/cron";
import type { Workflow } from "../lib/types";
import { ErrorBox, LoadError, fmtTime, useLoad } from "../ui/common";

interface Trigger {
  id: string; kind: string; name: string | null; config: any; has_secret: boolean; paused: boolean; url: string | null;
  schedule?: any; created_at: string;
}

export function CronPreview({ cron }: { cron: string }) {
  const view = useMemo(() => {
    try {
      return { text: describeCron(cron), runs: nextRuns(cron, new Date(), 5), error: null };
    } catch (err: any) {
      return { text: "", runs: [], error: err.message as string };
    }
  }, [cron]);
  if (!cron.trim()) return null;
  if (view.error) return <div className="error" data-testid="cron-error">{view.error}</div>;
  return (
    <div className="cron-preview" data-testid="cron-preview">
      <strong data-testid="cron-text">{view.text}</strong> (UTC)
      <ol>{view.runs.map((d) => <li key={d.toISOString()}>{d.toISOString().replace("T", " ").slice(0, 16)}</li>)}</ol>
    </div>
  );
}

function randomSecret(): string {
  const a = new Uint8Array(24);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function Triggers() {
  const { id } = useParams();
  const me = useSession((s) => s.me);
  const { data: wf } = useLoad(() => get<Workflow>(`workflows/${id}`), [id]);
  const { data, error, reload } = useLoad(() => get<Trigger[] | { items: Trigger[] }>(`workflows/${id}/triggers`), [id]);
  const [err, setErr] = useState<any>(null);
  const [kind, setKind] = useState<"webhook" | "schedule">("webhook");
  const [name, setName] = useState("");
  const [cron, setCron] = useState("0 9 * * 1-5");
  const [withSecret, setWithSecret] = useState(true);
  const [shown, setShown] = useState<{ url: string | null; secret: string | null } | null>(null);
  const items: Trigger[] = Array.isArray(data) ? data : data?.items ?? [];
  const edit = can(me, PERM.edit);
  const act = async (fn: () => Promise<any>) => {
    setErr(null);
    try { await fn(); reload(); } catch (e) { setErr(e); }
  };
  const create = () => act(async () => {
    const secret = kind === "webhook" && withSecret ? randomSecret() : null;
    const body: any = { kind, name: name || null };
    if (kind === "webhook" && secret) body.secret = secret;
    if (kind === "schedule") body.cron = cron;
    const t = await post<Trigger>(`workflows/${id}/triggers`, body);
    if (kind === "webhook") setShown({ url: t.url, secret });
  });
  return (
    <div className="page" data-testid="triggers">
      <div className="page-head"><h1>Triggers <small>{wf?.name}</small></h1><div className="actions"><Link className="button" to={`/workflows/${id}`}>Open designer</Link></div></div>
      <LoadError error={error} what="Triggers" />
      <ErrorBox error={err} />
      {shown ? (
        <div className="card secret" data-testid="webhook-created">
          <h3>Webhook created</h3>
          <p>POST to <code data-testid="webhook-url">{shown.url}</code></p>
          {shown.secret ? <p>Signing secret (shown once, copy it now): <code data-testid="webhook-secret">{shown.secret}</code><br /><span className="muted small">Send <code>X-Signature-256: sha256=&lt;HMAC-SHA256 of the body&gt;</code>.</span></p> : null}
          <button onClick={() => setShown(null)}>Done</button>
        </div>
      ) : null}
      <table className="table" data-testid="trigger-table">
        <thead><tr><th>Kind</th><th>Name</th><th>Details</th><th>State</th><th></th></tr></thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.id} data-testid="trigger-row">
              <td>{t.kind}</td><td>{t.name ?? "—"}</td>
              <td>{t.kind === "webhook" ? <code>{t.url}</code> : <>{t.config?.cron ?? `every ${t.config?.interval_seconds}s`} {t.config?.cron ? <span className="muted">— {safeDescribe(t.config.cron)}</span> : null}</>}</td>
              <td>{t.paused ? "paused" : "active"}{t.has_secret ? " · signed" : ""}</td>
              <td className="row-actions">
                {t.kind === "schedule" && edit ? <button className="small" onClick={() => act(() => post(`workflows/${id}/triggers/${t.id}/${t.paused ? "resume" : "pause"}`))} data-testid="trigger-pause">{t.paused ? "Resume" : "Pause"}</button> : null}
                {t.kind === "schedule" && can(me, PERM.execute) ? <button className="small" onClick={() => act(() => post(`workflows/${id}/triggers/${t.id}/run`))} data-testid="trigger-run">Run now</button> : null}
                {edit ? <button className="small danger" onClick={() => act(() => del(`workflows/${id}/triggers/${t.id}`))} data-testid="trigger-delete">Delete</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && !error ? <p className="muted">No triggers.</p> : null}
      {edit ? (
        <div className="card">
          <h3>Add a trigger</h3>
          <div className="filters">
            <select value={kind} onChange={(e) => setKind(e.target.value as any)} data-testid="trigger-kind"><option value="webhook">Webhook</option><option value="schedule">Schedule</option></select>
            <input placeholder="Name (optional)" value={name} onChange={(e) => setName(e.target.value)} data-testid="trigger-name" />
            {kind === "webhook" ? <label className="inline"><input type="checkbox" checked={withSecret} onChange={(e) => setWithSecret(e.target.checked)} /> sign with a secret</label> : null}
            {kind === "schedule" ? <input className="mono" value={cron} onChange={(e) => setCron(e.target.value)} data-testid="trigger-cron" /> : null}
          </div>
          {kind === "schedule" ? <CronPreview cron={cron} /> : null}
          <button className="primary" onClick={create} data-testid="trigger-create">Create</button>
        </div>
      ) : null}
    </div>
  );
}

function safeDescribe(cron: string): string {
  try { return describeCron(cron); } catch { return ""; }
}
