import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../lib/api";

/** Load data once (and on `deps` change); errors become readable messages, a 404 on a missing
 * endpoint becomes `notAvailable`. */
export function useLoad<T>(fn: () => Promise<T>, deps: any[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const d = await fn();
      if (mine === seq.current) { setData(d); setError(null); }
    } catch (err: any) {
      if (mine === seq.current) setError(err);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => { reload(); }, [reload]);
  return { data, error, loading, reload, setData };
}

export function ErrorBox({ error, testid = "error" }: { error: any; testid?: string }) {
  if (!error) return null;
  const msg = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : "";
  return (
    <div className="error" role="alert" data-testid={testid}>
      {msg}
      {status}
    </div>
  );
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <div className="notice" data-testid="not-available">
      {what} is not available on this server yet.
    </div>
  );
}

/** Error or "not available" for a failed load. */
export function LoadError({ error, what }: { error: any; what: string }) {
  if (!error) return null;
  if (error instanceof ApiError && error.notAvailable) return <NotAvailable what={what} />;
  return <ErrorBox error={error} />;
}

export function Modal({ title, children, onClose, testid, wide }: { title: string; children: ReactNode; onClose: () => void; testid?: string; wide?: boolean }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={"modal" + (wide ? " wide" : "")} role="dialog" aria-label={title} data-testid={testid}>
        <div className="modal-head">
          <h2>{title}</h2>
          <button className="icon" onClick={onClose} aria-label="close" data-testid="modal-close">×</button>
        </div>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge st-${status}`} data-testid="status-badge">{status}</span>;
}

export function fmtTime(iso?: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString();
}
export function fmtDuration(ms?: number | null): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function Json({ value, testid }: { value: any; testid?: string }) {
  return <pre className="json" data-testid={testid}>{value === undefined ? "—" : JSON.stringify(value, null, 2)}</pre>;
}

/** Executions over time: stacked bars (completed / failed / cancelled / running), hand-rolled SVG
 * stretched to the card's width; the scale and the time range are HTML labels around it. */
export function BarChart({ buckets }: { buckets: { start: string; completed: number; failed: number; cancelled: number; running: number }[] }) {
  const W = 1000, H = 140;
  const max = Math.max(1, ...buckets.map((b) => b.completed + b.failed + b.cancelled + b.running));
  const bw = buckets.length ? W / buckets.length : 0;
  const colors: Record<string, string> = { completed: "#16a34a", failed: "#dc2626", cancelled: "#9ca3af", running: "#2563eb" };
  const fmt = (iso?: string) => (iso ? new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "");
  return (
    <div className="chart-box">
      <span className="chart-max muted small">{max}</span>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="chart" data-testid="chart" role="img" aria-label="executions over time">
        <line x1={0} y1={H - 0.5} x2={W} y2={H - 0.5} stroke="#d1d5db" vectorEffect="non-scaling-stroke" />
        {buckets.map((b, i) => {
          let y = H;
          return (
            <g key={b.start}>
              <title>{`${fmt(b.start)}: ${b.completed} completed, ${b.failed} failed, ${b.cancelled} cancelled, ${b.running} running`}</title>
              {(["completed", "failed", "cancelled", "running"] as const).map((k) => {
                const h = ((b[k] ?? 0) / max) * (H - 6);
                y -= h;
                return h > 0 ? <rect key={k} x={i * bw + bw * 0.12} y={y} width={Math.max(1, bw * 0.76)} height={h} fill={colors[k]} /> : null;
              })}
            </g>
          );
        })}
      </svg>
      <div className="chart-axis muted small"><span>{fmt(buckets[0]?.start)}</span><span>now</span></div>
    </div>
  );
}
