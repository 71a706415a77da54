/** The canvas state: one zustand store for nodes and edges, with undo/redo (zundo).
 *
 * Only the definition-relevant parts are tracked for undo (not selection, not measured sizes);
 * a drag is one undo step (snapshot at drag start, recorded at drag end). Markers and run status
 * live in a separate store so that validation or live updates never create undo steps and each
 * node subscribes to its own entry only. */
import { create } from "zustand";
import { temporal } from "zundo";
import { applyEdgeChanges, applyNodeChanges, type EdgeChange, type NodeChange } from "@xyflow/react";
import { edgeId, newNodeId, type CanvasEdge, type CanvasNode, type WfoNodeData } from "./mapping";
import type { JsonObject, Problem } from "./types";
import { placeMarkers, type Markers } from "./markers";

export interface Tracked { nodes: CanvasNode[]; edges: CanvasEdge[] }

export interface CanvasState extends Tracked {
  extra: JsonObject;
  dirty: boolean;
  clipboard: { nodes: CanvasNode[]; edges: CanvasEdge[] } | null;
  load(nodes: CanvasNode[], edges: CanvasEdge[], extra: JsonObject): void;
  onNodesChange(changes: NodeChange[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  connect(source: string, sourceHandle: string, target: string): void;
  addNode(node: CanvasNode): void;
  updateData(id: string, patch: Partial<WfoNodeData> | JsonObject): void;
  setNodes(nodes: CanvasNode[]): void;
  deleteSelected(): void;
  copySelected(): void;
  paste(offset?: number): void;
  selectAll(): void;
  markSaved(): void;
}

function strip(n: CanvasNode): CanvasNode {
  const { selected, dragging, measured, resizing, ...rest } = n as any;
  return rest;
}
function stripEdge(e: CanvasEdge): CanvasEdge {
  const { selected, ...rest } = e as any;
  return rest;
}
function renumber(edges: CanvasEdge[]): CanvasEdge[] {
  return edges.map((e, i) => ({ ...e, id: edgeId(e, i) }));
}

export const useCanvas = create<CanvasState>()(
  temporal(
    (set, get) => ({
      nodes: [],
      edges: [],
      extra: {},
      dirty: false,
      clipboard: null,
      load(nodes, edges, extra) {
        set({ nodes, edges, extra, dirty: false });
      },
      onNodesChange(changes) {
        const meaningful = changes.some((c) => c.type === "remove" || c.type === "add" || (c.type === "position" && !c.dragging) || c.type === "replace");
        set({ nodes: applyNodeChanges(changes, get().nodes as any) as any, ...(meaningful ? { dirty: true } : {}) });
        if (changes.some((c) => c.type === "remove")) {
          const ids = new Set(get().nodes.map((n) => n.id));
          set({ edges: renumber(get().edges.filter((e) => ids.has(e.source) && ids.has(e.target))) });
        }
      },
      onEdgesChange(changes) {
        const next = applyEdgeChanges(changes, get().edges as any) as any as CanvasEdge[];
        const removed = changes.some((c) => c.type === "remove");
        set({ edges: removed ? renumber(next) : next, ...(removed ? { dirty: true } : {}) });
      },
      connect(source, sourceHandle, target) {
        const edges = get().edges;
        if (edges.some((e) => e.source === source && e.sourceHandle === sourceHandle && e.target === target)) return;
        const e: CanvasEdge = { id: "", source, target, sourceHandle, targetHandle: "in", data: { extra: {} } };
        set({ edges: renumber([...edges, e]), dirty: true });
      },
      addNode(node) {
        set({ nodes: [...get().nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), { ...node, selected: true }], dirty: true });
      },
      updateData(id, patch) {
        set({ nodes: get().nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch } } : n)) as CanvasNode[], dirty: true });
      },
      setNodes(nodes) {
        set({ nodes, dirty: true });
      },
      deleteSelected() {
        const { nodes, edges } = get();
        const gone = new Set(nodes.filter((n) => n.selected && n.data?.type !== "start").map((n) => n.id));
        const keep = edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
        if (gone.size === 0 && keep.length === edges.length) return;
        set({ nodes: nodes.filter((n) => !gone.has(n.id)), edges: renumber(keep), dirty: true });
      },
      copySelected() {
        const { nodes, edges } = get();
        const sel = nodes.filter((n) => n.selected);
        const ids = new Set(sel.map((n) => n.id));
        set({ clipboard: { nodes: sel.map(strip), edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map(stripEdge) } });
      },
      paste(offset = 40) {
        const clip = get().clipboard;
        if (!clip || !clip.nodes.length) return;
        const taken = new Set(get().nodes.map((n) => n.id));
        const rename = new Map<string, string>();
        const fresh = clip.nodes.map((n) => {
          const id = newNodeId(n.id.replace(/_\d+$/, ""), taken);
          taken.add(id);
          rename.set(n.id, id);
          return { ...n, id, selected: true, position: { x: n.position.x + offset, y: n.position.y + offset } };
        });
        const freshEdges = clip.edges.map((e) => ({ ...e, source: rename.get(e.source)!, target: rename.get(e.target)! }));
        set({
          nodes: [...get().nodes.map((n) => ({ ...n, selected: false })), ...fresh],
          edges: renumber([...get().edges, ...freshEdges]),
          dirty: true,
        });
      },
      selectAll() {
        set({ nodes: get().nodes.map((n) => ({ ...n, selected: true })) });
      },
      markSaved() {
        set({ dirty: false });
      },
    }),
    {
      limit: 200,
      partialize: (s): Tracked => ({ nodes: s.nodes.map(strip), edges: s.edges.map(stripEdge) }),
      equality: (a, b) => JSON.stringify(a) === JSON.stringify(b),
    },
  ),
);

/** Drag = one undo step: call at drag start, and `endGesture` at drag stop. */
let gesture: Tracked | null = null;
export function beginGesture() {
  const s = useCanvas.getState();
  gesture = { nodes: s.nodes.map(strip), edges: s.edges.map(stripEdge) };
  useCanvas.temporal.getState().pause();
}
export function endGesture() {
  const t = useCanvas.temporal.getState();
  t.resume();
  if (!gesture) return;
  const s = useCanvas.getState();
  const now = { nodes: s.nodes.map(strip), edges: s.edges.map(stripEdge) };
  if (JSON.stringify(now) !== JSON.stringify(gesture)) {
    useCanvas.temporal.setState({ pastStates: [...t.pastStates, gesture as any], futureStates: [] });
    useCanvas.setState({ dirty: true });
  }
  gesture = null;
}
export function undo() {
  useCanvas.temporal.getState().undo();
  useCanvas.setState({ dirty: true });
}
export function redo() {
  useCanvas.temporal.getState().redo();
  useCanvas.setState({ dirty: true });
}
export function resetHistory() {
  useCanvas.temporal.getState().clear();
}

/** Non-undoable overlays: validation markers and live run status per node. */
export interface OverlayState {
  markers: Markers;
  problems: Problem[];
  validating: boolean;
  run: Record<string, string>;
  readOnly: boolean;
  setProblems(problems: Problem[], nodeIds: string[], edgeIds: string[]): void;
  setRun(run: Record<string, string>): void;
}
export const useOverlay = create<OverlayState>((set) => ({
  markers: { nodes: {}, edges: {}, general: [] },
  problems: [],
  validating: false,
  run: {},
  readOnly: false,
  setProblems(problems, nodeIds, edgeIds) {
    set({ problems, markers: placeMarkers(problems, nodeIds, edgeIds), validating: false });
  },
  setRun(run) {
    set({ run });
  },
}));
