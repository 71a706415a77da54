import { useState } from "react";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import { del, post, put, get } from "../lib/api";
import { can, PERM, useSession } from "../lib/session";
import { ErrorBox, LoadError, Modal, fmtTime, useLoad } from "../ui/common";

interface CredType { type: string; title: string; schema: any }
interface Cred { id: string; name: string; type: string; description: string | null; created_at: string; updated_at: string; used_by: string[] }

function Editor({ types, cred, onClose, onSaved }: { types: CredType[]; cred: Cred | null; onClose: () => void; onSaved: () => void }) {
  const [type, setType] = useState(cred?.type ?? types[0]?.type ?? "");
  const [name, setName] = useState(cred?.name ?? "");
  const [description, setDescription] = useState(cred?.description ?? "");
  const [values, setValues] = useState<any>({});
  const [err, setErr] = useState<any>(null);
  const schema = types.find((t) => t.type === type)?.schema ?? { type: "object" };
  const save = async () => {
    setErr(null);
    try {
      if (cred) await put(`credentials/${cred.id}`, { description, ...(Object.keys(values).length ? { values } : {}) });
      else await post("credentials", { name, type, description: description || undefined, values });
      onSaved();
    } catch (e) { setErr(e); }
  };
  return (
    <Modal title={cred ? `Edit ${cred.name}` : "New credential"} onClose={onClose} testid="credential-dialog">
      {!cred ? (
        <>
          <label>Name<input value={name} onChange={(e) => setName(e.target.value)} data-testid="credential-name" /></label>
          <label>Type<select value={type} onChange={(e) => { setType(e.target.value); setValues({}); }} data-testid="credential-type">{types.map((t) => <option key={t.type} value={t.type}>{t.title}</option>)}</select></label>
        </>
      ) : <p className="muted">Stored values are never shown. Fill in values only to replace them.</p>}
      <label>Description<input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
      <Form schema={schema} validator={validator} formData={values} onChange={(e) => setValues(e.formData)} uiSchema={{ "ui:submitButtonOptions": { norender: true } }} />
      <ErrorBox error={err} />
      <div className="row-end"><button className="primary" onClick={save} data-testid="credential-save">Save</button></div>
    </Modal>
  );
}

export function Credentials() {
  const me = useSession((s) => s.me);
  const { data: types, error: typesError } = useLoad(() => get<{ items: CredType[] }>("credentials/types"), []);
  const { data, error, reload } = useLoad(() => get<{ items: Cred[] }>("credentials"), []);
  const [editing, setEditing] = useState<Cred | null | "new">(null);
  const [err, setErr] = useState<any>(null);
  const edit = can(me, PERM.edit);
  return (
    <div className="page" data-testid="credentials">
      <div className="page-head"><h1>Credentials</h1>
        <div className="actions">{edit && types ? <button className="primary" onClick={() => setEditing("new")} data-testid="new-credential">New credential</button> : null}</div>
      </div>
      <p className="muted">Secrets used by components (database passwords, API tokens). Values are write-only: once saved they are never shown again.</p>
      <LoadError error={error || typesError} what="The credentials vault" />
      <ErrorBox error={err} />
      {data ? (
        <table className="table">
          <thead><tr><th>Name</th><th>Type</th><th>Description</th><th>Used by</th><th>Updated</th><th></th></tr></thead>
          <tbody>
            {data.items.map((c) => (
              <tr key={c.id} data-testid="credential-row">
                <td>{c.name}</td><td>{c.type}</td><td>{c.description ?? ""}</td><td>{c.used_by.length} workflow(s)</td><td>{fmtTime(c.updated_at)}</td>
                <td className="row-actions">
                  {edit ? <button className="small" onClick={() => setEditing(c)}>Replace values</button> : null}
                  {edit ? <button className="small danger" onClick={async () => { setErr(null); try { await del(`credentials/${c.id}`); reload(); } catch (e) { setErr(e); } }}>Delete</button> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {editing && types ? <Editor types={types.items} cred={editing === "new" ? null : editing} onClose={() => setEditing(null)} onSaved={() => { setEditing(null); reload(); }} /> : null}
    </div>
  );
}
