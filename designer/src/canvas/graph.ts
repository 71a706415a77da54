import type { CanvasEdge, CanvasNode, WfoNodeData } from "../lib/mapping";
import type { GraphLike } from "../lib/completion";

export function graphOf(nodes: CanvasNode[], edges: CanvasEdge[]): GraphLike {
  return {
    nodes: nodes.filter((n) => n.type !== "note").map((n) => {
      const d = n.data as WfoNodeData;
      return { id: n.id, type: d.type, config: d.config, pinned: d.pinned };
    }),
    edges: edges.map((e) => ({ source: e.source, target: e.target })),
  };
}
