/** Auto-layout ("tidy up") with dagre: left to right, notes left where they are. */
import dagre from "@dagrejs/dagre";
import type { CanvasEdge, CanvasNode } from "./mapping";

export const NODE_W = 180;
export const NODE_H = 64;

export function layout(nodes: CanvasNode[], edges: CanvasEdge[]): CanvasNode[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 50, ranksep: 80, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) if (n.type !== "note") g.setNode(n.id, { width: n.measured?.width ?? NODE_W, height: n.measured?.height ?? NODE_H });
  for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    if (n.type === "note") return n;
    const p = g.node(n.id);
    const w = n.measured?.width ?? NODE_W;
    const h = n.measured?.height ?? NODE_H;
    return { ...n, position: { x: Math.round(p.x - w / 2), y: Math.round(p.y - h / 2) } };
  });
}
