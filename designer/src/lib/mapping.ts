/** Definition JSON <-> React Flow canvas, both ways, losslessly.
 *
 * Invariants: node ids are the definition's ids; canvas edges keep the definition's edge order (the
 * API's `edge_index` of a problem is the index in `edges`); `position`, sticky `notes`, `pin_data`
 * and any key the canvas does not know are carried through unchanged. */
import type { DefEdge, DefNode, Definition, JsonObject, Position, StickyNote } from "./types";

export interface WfoNodeData {
  type: string;
  name?: string;
  config: JsonObject;
  pinned?: any;
  /** keys of the definition node other than id/type/name/config/position (retry, timeout...) */
  extra: JsonObject;
  [k: string]: unknown;
}

export interface NoteData {
  text: string;
  color: string;
  [k: string]: unknown;
}

export interface CanvasNode {
  id: string;
  type: "wfo" | "note";
  position: Position;
  data: WfoNodeData | NoteData;
  width?: number;
  height?: number;
  style?: JsonObject;
  selected?: boolean;
  [k: string]: any;
}

export interface CanvasEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
  targetHandle: string;
  data?: JsonObject;
  selected?: boolean;
  [k: string]: any;
}

export interface Canvas {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  /** top-level definition keys other than nodes/edges/notes/pin_data */
  extra: JsonObject;
}

const NODE_KEYS = new Set(["id", "type", "name", "config", "position"]);
const TOP_KEYS = new Set(["nodes", "edges", "notes", "pin_data"]);
export const GRID = { x: 240, y: 120 };

export function edgeId(e: { source: string; target: string; sourceHandle?: string | null }, i: number): string {
  return `e${i}-${e.source}-${e.sourceHandle ?? "out"}-${e.target}`;
}

export function toCanvas(def: Definition): Canvas {
  const pins = def.pin_data ?? {};
  const nodes: CanvasNode[] = (def.nodes ?? []).map((n: DefNode, i: number) => {
    const extra: JsonObject = {};
    for (const [k, v] of Object.entries(n)) if (!NODE_KEYS.has(k)) extra[k] = v;
    const data: WfoNodeData = { type: n.type, config: n.config ?? {}, extra };
    if (n.name !== undefined) data.name = n.name;
    if (Object.prototype.hasOwnProperty.call(pins, n.id)) data.pinned = pins[n.id];
    return {
      id: n.id,
      type: "wfo",
      position: n.position ? { x: n.position.x, y: n.position.y } : { x: (i % 4) * GRID.x, y: Math.floor(i / 4) * GRID.y * 2 },
      data,
    };
  });
  for (const note of def.notes ?? []) {
    nodes.push({
      id: note.id,
      type: "note",
      position: { ...note.position },
      data: { text: note.text, color: note.color ?? "yellow" },
      width: note.width ?? 200,
      height: note.height ?? 120,
      style: { width: note.width ?? 200, height: note.height ?? 120 },
    });
  }
  const edges: CanvasEdge[] = (def.edges ?? []).map((e: DefEdge, i: number) => {
    const { source, target, source_port, ...rest } = e;
    const handle = source_port ?? "out";
    return { id: edgeId({ source, target, sourceHandle: handle }, i), source, target, sourceHandle: handle, targetHandle: "in", data: { extra: rest } };
  });
  const extra: JsonObject = {};
  for (const [k, v] of Object.entries(def)) if (!TOP_KEYS.has(k)) extra[k] = v;
  return { nodes, edges, extra };
}

function round(n: number): number {
  return Math.round(n);
}

export function toDefinition(canvas: Canvas): Definition {
  const nodes: DefNode[] = [];
  const notes: StickyNote[] = [];
  const pin_data: Record<string, any> = {};
  for (const n of canvas.nodes) {
    if (n.type === "note") {
      const d = n.data as NoteData;
      const width = n.width ?? n.measured?.width ?? n.style?.width ?? 200;
      const height = n.height ?? n.measured?.height ?? n.style?.height ?? 120;
      notes.push({ id: n.id, text: d.text, position: { x: round(n.position.x), y: round(n.position.y) }, width: round(width), height: round(height), color: d.color });
      continue;
    }
    const d = n.data as WfoNodeData;
    const out: DefNode = { id: n.id, type: d.type };
    if (d.name !== undefined && d.name !== "") out.name = d.name;
    out.config = d.config ?? {};
    Object.assign(out, d.extra ?? {});
    out.position = { x: round(n.position.x), y: round(n.position.y) };
    nodes.push(out);
    if (d.pinned !== undefined) pin_data[n.id] = d.pinned;
  }
  const edges: DefEdge[] = canvas.edges.map((e) => {
    const out: DefEdge = { ...(e.data?.extra ?? {}), source: e.source, target: e.target };
    out.source_port = e.sourceHandle || "out";
    return out;
  });
  const def: Definition = { schema_version: 1, ...canvas.extra, nodes, edges };
  if (notes.length) def.notes = notes;
  if (Object.keys(pin_data).length) def.pin_data = pin_data;
  return def;
}

/** A node id not in `taken`, derived from the type: `decision`, `decision_2`, ... */
export function newNodeId(type: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = type.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([^A-Za-z_])/, "_$1") || "node";
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}
