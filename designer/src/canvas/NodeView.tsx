/** Canvas node components. Memoised; each node subscribes only to its own marker list and run
 * status (never to the whole node array), so editing one node re-renders that node alone. */
import { memo, useCallback } from "react";
import { Handle, NodeResizer, Position, type NodeProps } from "@xyflow/react";
import { useSession } from "../lib/session";
import { useOverlay, useCanvas, beginGesture, endGesture } from "../lib/canvasStore";
import { outputPorts, hasInput, portLabel } from "../lib/ports";
import type { NoteData, WfoNodeData } from "../lib/mapping";

const ICONS: Record<string, string> = {
  play: "▶", square: "■", "octagon-x": "✖", wand: "ƒ", variable: "𝑥", split: "⋔", route: "⇶", filter: "▽",
  "git-fork": "⇉", "git-merge": "⋈", repeat: "↻", "list-tree": "☰", workflow: "▣", timer: "◷", "user-check": "✔",
  globe: "⇄", database: "≣", mail: "✉",
};
const BY_PREFIX: [string, string][] = [["http", "⇄"], ["db", "≣"], ["sql", "≣"], ["email", "✉"], ["mail", "✉"], ["slack", "#"], ["redis", "≣"], ["util", "○"]];
export function iconFor(name?: string, type?: string): string {
  if (name && ICONS[name]) return ICONS[name];
  const hit = BY_PREFIX.find(([p]) => type?.startsWith(p) || name?.includes(p));
  return hit ? hit[1] : "○";
}

const EMPTY: never[] = [];

export const WfoNode = memo(function WfoNode({ id, data, selected }: NodeProps) {
  const d = data as WfoNodeData;
  const spec = useSession((s) => s.specs[d.type]);
  // previews (templates, version diffs) pass `static`: the live canvas' markers and run status are not theirs
  const problems = useOverlay((s) => (d.static ? EMPTY : s.markers.nodes[id] ?? EMPTY));
  const run = useOverlay((s) => (d.static ? undefined : s.run[id]));
  const ports = outputPorts(d.type, d.config, spec);
  const cls = ["wfo-node", `cat-${spec?.category ?? "core"}`, selected ? "selected" : "", problems.length ? "invalid" : "", run ? `run-${run}` : ""].join(" ");
  return (
    <div className={cls} data-testid={`node-${id}`} data-status={run ?? ""} data-problems={problems.length}>
      {hasInput(d.type) ? <Handle type="target" position={Position.Left} id="in" className="port-in" /> : null}
      <div className="wfo-node-head">
        <span className="icon">{iconFor(spec?.icon, d.type)}</span>
        <span className="title">{d.name || spec?.title || d.type}</span>
        {d.pinned !== undefined ? <span className="pin" title="pinned sample output">📌</span> : null}
      </div>
      <div className="wfo-node-id">{id}{d.name ? "" : ` · ${d.type}`}</div>
      {problems.length ? (
        <span className="marker" data-testid={`marker-${id}`} title={problems.map((p) => p.message).join("\n")}>{problems.length}</span>
      ) : null}
      {run ? <span className={`run-dot ${run}`} data-testid={`run-${id}`} title={run}>{run}</span> : null}
      <div className="ports-out">
        {ports.map((p, i) => (
          <div key={p} className={`port-row port-${p}`} style={{ top: ports.length === 1 ? "50%" : `${((i + 1) / (ports.length + 1)) * 100}%` }}>
            <span className="port-label">{portLabel(p)}</span>
            <Handle type="source" position={Position.Right} id={p} className={`port-out port-${p}`} data-testid={`port-${id}-${p}`} style={{ top: "50%" }} />
          </div>
        ))}
      </div>
    </div>
  );
});

const COLORS = ["yellow", "blue", "green", "pink"];

export const NoteNode = memo(function NoteNode({ id, data, selected }: NodeProps) {
  const d = data as NoteData;
  const update = useCanvas((s) => s.updateData);
  const readOnly = useOverlay((s) => s.readOnly) || !!d.static;
  const onText = useCallback((e: React.ChangeEvent<HTMLTextAreaElement>) => update(id, { text: e.target.value }), [id, update]);
  return (
    <div className={`note note-${d.color}`} data-testid={`note-${id}`}>
      <NodeResizer isVisible={selected && !readOnly} minWidth={120} minHeight={60} onResizeStart={beginGesture} onResizeEnd={endGesture} />
      <textarea className="nodrag" value={d.text} readOnly={readOnly} onChange={onText} placeholder="Note…" data-testid="note-text" />
      {selected && !readOnly ? (
        <div className="note-colors">
          {COLORS.map((c) => <button key={c} className={`swatch note-${c}`} aria-label={c} onClick={() => update(id, { color: c })} />)}
        </div>
      ) : null}
    </div>
  );
});

export const nodeTypes = { wfo: WfoNode, note: NoteNode };
