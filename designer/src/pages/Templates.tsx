import { useState } from "react";
import { useNavigate } from "react-router-dom";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import { ReactFlow, ReactFlowProvider, Background } from "@xyflow/react";
import { get, post } from "../lib/api";
import { can, PERM, useSession } from "../lib/session";
import { toCanvas } from "../lib/mapping";
import { layout } from "../lib/layout";
import { ErrorBox, Modal, useLoad } from "../ui/common";
import { nodeTypes } from "../canvas/NodeView";

interface TemplateSummary { id: string; name: string; category: string; description: string; tags: string[]; parameters: any }
interface TemplateDetail extends TemplateSummary { example_parameters: any; definition: any; notes?: string }

function Preview({ definition }: { definition: any }) {
  const c = toCanvas(definition);
  const placed = definition.nodes.every((n: any) => n.position) ? c.nodes : layout(c.nodes, c.edges);
  const nodes = placed.map((n) => ({ ...n, data: { ...n.data, static: true } }));
  return (
    <div className="template-graph" data-testid="template-graph">
      <ReactFlowProvider>
        <ReactFlow nodes={nodes as any} edges={c.edges as any} nodeTypes={nodeTypes} fitView nodesDraggable={false} nodesConnectable={false} elementsSelectable={false} proOptions={{ hideAttribution: true }}>
          <Background />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}

function UseTemplate({ id, onClose }: { id: string; onClose: () => void }) {
  const me = useSession((s) => s.me);
  const nav = useNavigate();
  const { data, error } = useLoad(() => get<TemplateDetail>(`templates/${id}`), [id]);
  const [params, setParams] = useState<any>(null);
  const [name, setName] = useState("");
  const [err, setErr] = useState<any>(null);
  const create = async () => {
    setErr(null);
    try {
      const wf = await post<{ id: string }>(`templates/${id}/create-workflow`, { name: name || data!.name, parameters: params ?? data!.example_parameters ?? {} });
      nav(`/workflows/${wf.id}`);
    } catch (e) { setErr(e); }
  };
  return (
    <Modal title={data?.name ?? "Template"} onClose={onClose} testid="template-dialog" wide>
      <ErrorBox error={error} />
      {data ? (
        <>
          <p>{data.description}</p>
          <Preview definition={data.definition} />
          {can(me, PERM.create) ? (
            <>
              <label>Workflow name<input value={name} placeholder={data.name} onChange={(e) => setName(e.target.value)} data-testid="template-workflow-name" /></label>
              <h3>Parameters</h3>
              <div data-testid="template-params">
                <Form schema={data.parameters} validator={validator} formData={params ?? data.example_parameters} onChange={(e) => setParams(e.formData)}
                  onSubmit={create} showErrorList="bottom">
                  <div className="row-end"><button className="primary" type="submit" data-testid="template-create">Create workflow</button></div>
                </Form>
              </div>
            </>
          ) : <p className="muted">Your role can browse templates but not create workflows.</p>}
          <ErrorBox error={err} testid="template-error" />
        </>
      ) : null}
    </Modal>
  );
}

export function Templates() {
  const [category, setCategory] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const { data, error } = useLoad(() => get<{ items: TemplateSummary[]; categories: string[] }>(`templates${category ? `?category=${encodeURIComponent(category)}` : ""}`), [category]);
  return (
    <div className="page" data-testid="templates">
      <div className="page-head"><h1>Templates</h1></div>
      <div className="chips">
        <button className={category === "" ? "chip on" : "chip"} onClick={() => setCategory("")}>All</button>
        {(data?.categories ?? []).map((c) => <button key={c} className={category === c ? "chip on" : "chip"} onClick={() => setCategory(c)} data-testid={`template-cat-${c}`}>{c}</button>)}
      </div>
      <ErrorBox error={error} />
      <div className="gallery">
        {(data?.items ?? []).map((t) => (
          <button key={t.id} className="card template" onClick={() => setOpen(t.id)} data-testid="template-card" data-template-id={t.id}>
            <span className="badge">{t.category}</span>
            <h3>{t.name}</h3>
            <p className="muted">{t.description}</p>
          </button>
        ))}
      </div>
      {open ? <UseTemplate id={open} onClose={() => setOpen(null)} /> : null}
    </div>
  );
}
