import type { Definition } from "./types";

/** What changed between two definitions, by node id and by edge (source, port, target). */
export function diffDefinitions(a: Definition, b: Definition) {
  const an = new Map(a.nodes.map((n) => [n.id, n]));
  const bn = new Map(b.nodes.map((n) => [n.id, n]));
  const sig = (n: any) => JSON.stringify({ type: n.type, name: n.name, config: n.config ?? {}, retry: n.retry, timeout: n.timeout });
  const added = b.nodes.filter((n) => !an.has(n.id)).map((n) => n.id);
  const removed = a.nodes.filter((n) => !bn.has(n.id)).map((n) => n.id);
  const changed = b.nodes.filter((n) => an.has(n.id) && sig(an.get(n.id)) !== sig(n)).map((n) => n.id);
  const ek = (e: any) => `${e.source} -${e.source_port ?? "out"}-> ${e.target}`;
  const ae = new Set(a.edges.map(ek));
  const be = new Set(b.edges.map(ek));
  const notes = (d: Definition) => new Map((d.notes ?? []).map((n) => [n.id, n.text]));
  const anotes = notes(a);
  const bnotes = notes(b);
  const notesChanged = [...new Set([...anotes.keys(), ...bnotes.keys()])]
    .filter((id) => anotes.get(id) !== bnotes.get(id))
    .map((id) => (anotes.has(id) && bnotes.has(id) ? `note ${id}: "${anotes.get(id)}" → "${bnotes.get(id)}"` : anotes.has(id) ? `− note "${anotes.get(id)}"` : `+ note "${bnotes.get(id)}"`));
  return { added, removed, changed, edgesAdded: [...be].filter((e) => !ae.has(e)), edgesRemoved: [...ae].filter((e) => !be.has(e)), notesChanged };
}

