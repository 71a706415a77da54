import { useState } from "react";
import { Link } from "react-router-dom";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import { ApiError, get, post } from "../lib/api";
import { can, PERM, useSession } from "../lib/session";
import type { Page, Task } from "../lib/types";
import { ErrorBox, StatusBadge, fmtTime, useLoad } from "../ui/common";

function decisionError(err: any): string {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  if (err.status === 403) return `You may not decide this task: ${err.message}`;
  if (err.status === 409) return `This task can no longer be decided: ${err.message}`;
  if (err.status === 422) return `The form is not valid: ${err.message}`;
  return err.message;
}

function TaskCard({ task, onDone }: { task: Task; onDone: () => void }) {
  const me = useSession((s) => s.me);
  const [comment, setComment] = useState("");
  const [data, setData] = useState<any>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const decide = async (decision: "approved" | "rejected") => {
    setBusy(true);
    setError(null);
    try {
      await post(`tasks/${task.id}/complete`, { decision, comment: comment || null, data: task.form ? data : null });
      setDone(decision);
      setTimeout(onDone, 600);
    } catch (err) {
      setError(decisionError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card task" data-testid="task-card" data-task-id={task.id}>
      <div className="task-head">
        <h3 data-testid="task-title">{task.title}</h3>
        <StatusBadge status={done ?? task.status} />
      </div>
      {task.description ? <p>{task.description}</p> : null}
      <p className="muted small">
        Execution <Link to={`/executions/${task.execution_id}`}>{task.execution_id.slice(0, 24)}</Link> · node {task.node_id} ·
        {" "}needs {task.required_approvals} approval(s) · {task.votes.length} vote(s) · due {fmtTime(task.due_at)}
      </p>
      {task.form && Object.keys(task.form).length ? (
        <div className="task-form" data-testid="task-form">
          <Form schema={task.form} validator={validator} formData={data} onChange={(e) => setData(e.formData)} uiSchema={{ "ui:submitButtonOptions": { norender: true } }} />
        </div>
      ) : null}
      {can(me, PERM.execute) && !done ? (
        <>
          <textarea placeholder="Comment (optional)" value={comment} onChange={(e) => setComment(e.target.value)} data-testid="task-comment" rows={2} />
          <div className="row-end">
            <button className="danger" disabled={busy} onClick={() => decide("rejected")} data-testid="task-reject">Reject</button>
            <button className="primary" disabled={busy} onClick={() => decide("approved")} data-testid="task-approve">Approve</button>
          </div>
        </>
      ) : null}
      {done ? <p className="ok" data-testid="task-done">Decision recorded: {done}</p> : null}
      {error ? <div className="error" role="alert" data-testid="task-error">{error}</div> : null}
    </div>
  );
}

export function Inbox() {
  const [status, setStatus] = useState("pending");
  const [mine, setMine] = useState(true);
  const { data, error, reload } = useLoad(() => get<Page<Task>>(`tasks?status=${status}&mine=${mine}&limit=100`), [status, mine]);
  return (
    <div className="page" data-testid="inbox">
      <div className="page-head"><h1>Inbox</h1><div className="actions"><button onClick={reload} data-testid="inbox-refresh">Refresh</button></div></div>
      <div className="filters">
        <select value={status} onChange={(e) => setStatus(e.target.value)} data-testid="inbox-status">
          {["pending", "approved", "rejected", "timed_out", "cancelled"].map((s) => <option key={s}>{s}</option>)}
        </select>
        <label className="inline"><input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> only tasks I may act on</label>
      </div>
      <ErrorBox error={error} />
      {(data?.items ?? []).map((t) => <TaskCard key={t.id} task={t} onDone={reload} />)}
      {data && data.items.length === 0 ? <p className="muted" data-testid="inbox-empty">Nothing waiting for you.</p> : null}
    </div>
  );
}
