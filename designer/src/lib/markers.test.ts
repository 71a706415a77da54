import { describe, expect, it } from "vitest";
import { placeMarkers, describeProblem } from "./markers";

describe("validation marker placement", () => {
  const nodes = ["start", "big", "end"];
  const edges = ["e0", "e1"];
  it("puts node problems on their node, edge problems on the edge at that index, the rest in general", () => {
    const m = placeMarkers([
      { code: "schema", message: "condition is required", node_id: "big", field: "config.condition" },
      { code: "bad_port", message: "no port x", edge_index: 1, node_id: "big" },
      { code: "no_end", message: "no end node" },
      { code: "missing_node", message: "ghost", node_id: "ghost" },
      { code: "bad_edge", message: "edge 7", edge_index: 7 },
    ], nodes, edges);
    expect(Object.keys(m.nodes)).toEqual(["big"]);
    expect(m.nodes.big[0].field).toBe("config.condition");
    expect(m.edges).toEqual({ e1: [{ code: "bad_port", message: "no port x", edge_index: 1, node_id: "big" }] });
    expect(m.general.map((p) => p.code)).toEqual(["no_end", "missing_node", "bad_edge"]);
  });
  it("describes where a problem is", () => {
    expect(describeProblem({ code: "c", message: "is required", node_id: "big", field: "condition" })).toBe("node 'big', condition: is required");
    expect(describeProblem({ code: "c", message: "m", edge_index: 0 })).toBe("edge #0: m");
  });
});
