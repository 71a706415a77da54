import { describe, expect, it } from "vitest";
import { diffDefinitions } from "./diff";
import { errorMessage } from "./api";

describe("version diff", () => {
  it("names added, removed and changed nodes, edges and notes", () => {
    const a = { nodes: [{ id: "start", type: "start" }, { id: "x", type: "transform", config: { expression: "1" } }, { id: "gone", type: "end" }],
      edges: [{ source: "start", target: "x" }, { source: "x", target: "gone" }], notes: [{ id: "n", text: "old", position: { x: 0, y: 0 } }] };
    const b = { nodes: [{ id: "start", type: "start", position: { x: 9, y: 9 } }, { id: "x", type: "transform", config: { expression: "2" } }, { id: "new", type: "end" }],
      edges: [{ source: "start", target: "x", source_port: "out" }, { source: "x", target: "new" }], notes: [{ id: "n", text: "new", position: { x: 0, y: 0 } }] };
    const d = diffDefinitions(a, b);
    expect(d.added).toEqual(["new"]);
    expect(d.removed).toEqual(["gone"]);
    expect(d.changed).toEqual(["x"]); // a moved node is not a change
    expect(d.edgesAdded).toEqual(["x -out-> new"]);
    expect(d.edgesRemoved).toEqual(["x -out-> gone"]);
    expect(d.notesChanged).toEqual(['note n: "old" → "new"']);
  });
});

describe("readable API errors", () => {
  it("string details, problem lists and pydantic errors", () => {
    expect(errorMessage(409, "execution already completed").message).toBe("execution already completed");
    const p = errorMessage(422, [{ code: "bad_config", message: "'condition' is a required property", node_id: "d", edge_index: null, field: "config" }]);
    expect(p.message).toBe("node 'd': 'condition' is a required property");
    expect(p.problems).toHaveLength(1);
    expect(errorMessage(422, [{ loc: ["body", "definition", "nodes"], msg: "Field required", type: "missing" }]).message).toBe("definition.nodes: Field required");
    expect(errorMessage(403, undefined).message).toBe("you are not allowed to do this");
    expect(errorMessage(412, undefined).message).toBe("someone else changed this meanwhile");
  });
});
