/** Where each validation problem is shown: on a node, on an edge, or in the general list.
 * Problems with `node_id` go to that node (when it is on the canvas); problems with `edge_index`
 * go to the edge at that index of the definition's `edges` (== canvas edge order); the rest are
 * general. Every problem also appears in the problems panel. */
import type { Problem } from "./types";

export interface Markers {
  nodes: Record<string, Problem[]>;
  edges: Record<string, Problem[]>;
  general: Problem[];
}

export function placeMarkers(problems: Problem[], nodeIds: string[], edgeIds: string[]): Markers {
  const out: Markers = { nodes: {}, edges: {}, general: [] };
  const known = new Set(nodeIds);
  for (const p of problems) {
    if (p.edge_index !== null && p.edge_index !== undefined && p.edge_index >= 0 && p.edge_index < edgeIds.length) {
      (out.edges[edgeIds[p.edge_index]] ??= []).push(p);
    } else if (p.node_id && known.has(p.node_id)) {
      (out.nodes[p.node_id] ??= []).push(p);
    } else {
      out.general.push(p);
    }
  }
  return out;
}

/** Human text for a problem: "node 'x', field: message". */
export function describeProblem(p: Problem): string {
  const where: string[] = [];
  if (p.node_id) where.push(`node '${p.node_id}'`);
  if (p.edge_index !== null && p.edge_index !== undefined) where.push(`edge #${p.edge_index}`);
  if (p.field) where.push(p.field);
  return (where.length ? where.join(", ") + ": " : "") + p.message;
}
