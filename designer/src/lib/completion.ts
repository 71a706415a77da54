/** Expression completions: what `input.`, `vars.` and `nodes.<id>.` may be followed by at a node,
 * from the nodes upstream of it (only those can have run before it) and their output schemas. */
import type { ComponentSpec, JsonObject } from "./types";

export interface GraphLike {
  nodes: { id: string; type: string; config?: JsonObject; pinned?: any }[];
  edges: { source: string; target: string }[];
}

export interface Completion { label: string; detail: string }

/** Ids of every node with a path to `nodeId` (not including it). */
export function upstream(graph: GraphLike, nodeId: string): string[] {
  const into = new Map<string, string[]>();
  for (const e of graph.edges) into.set(e.target, [...(into.get(e.target) ?? []), e.source]);
  const seen = new Set<string>();
  const stack = [...(into.get(nodeId) ?? [])];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id) || id === nodeId) continue;
    seen.add(id);
    stack.push(...(into.get(id) ?? []));
  }
  return graph.nodes.map((n) => n.id).filter((id) => seen.has(id));
}

function schemaKeys(schema: JsonObject | undefined): string[] {
  if (!schema || typeof schema !== "object") return [];
  return Object.keys(schema.properties ?? {});
}

function sampleKeys(sample: any): string[] {
  return sample && typeof sample === "object" && !Array.isArray(sample) ? Object.keys(sample) : [];
}

/** Completions for the path typed so far (`prefix` is the dotted path before the cursor, e.g.
 * `nodes.total.`, `input.`, `va`). */
export function completionsFor(
  prefix: string, graph: GraphLike, nodeId: string, specs: Record<string, ComponentSpec>,
): Completion[] {
  const ups = upstream(graph, nodeId);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const start = graph.nodes.find((n) => n.type === "start");
  const parts = prefix.split(".");
  if (parts.length === 1) {
    return [
      { label: "input", detail: "the execution input" },
      { label: "vars", detail: "variables set by `set` nodes" },
      { label: "nodes", detail: "outputs of upstream nodes" },
    ];
  }
  const [root, ...rest] = parts;
  if (root === "input" && rest.length === 1) {
    return schemaKeys(start?.config?.input_schema).map((k) => ({ label: k, detail: "input field" }));
  }
  if (root === "vars" && rest.length === 1) {
    const keys = new Set<string>();
    for (const id of ups) {
      const n = byId.get(id)!;
      if (n.type === "set") for (const k of Object.keys(n.config?.values ?? {})) keys.add(k);
    }
    return [...keys].map((k) => ({ label: k, detail: "variable" }));
  }
  if (root === "nodes") {
    if (rest.length === 1) return ups.map((id) => ({ label: id, detail: `output of ${byId.get(id)!.type}` }));
    if (rest.length === 2) {
      const n = byId.get(rest[0]);
      if (!n || !ups.includes(n.id)) return [];
      const keys = new Set([...schemaKeys(specs[n.type]?.output_schema), ...sampleKeys(n.pinned)]);
      return [...keys].map((k) => ({ label: k, detail: `field of nodes.${n.id}` }));
    }
  }
  return [];
}
